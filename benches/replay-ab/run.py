#!/usr/bin/env python3
"""Paired replay cost of two builds in one headless Chromium page.

    benches/replay-ab/run.py A.wasm MODE_A B.wasm MODE_B [ROUNDS]

MODE is `replay` (replay_run of a prepared recording: the trace build's side
of M-PERF-04D), `off` (the trace build running the workload with tracing
off) or `plain` (workload_run: the side of the build without trace). Per
seed, ROUNDS rounds (default 16) each run one block of 400 runs of A and one
of B back to back, alternating which goes first; the seed's figure is the
median over rounds of A/B - 1, and the line ends with the median over seeds.
Both modules share the page, so the host's slow and fast spells hit both.
Every round compiles both builds afresh from bytes with a nonce (V8 shares
the compiled code of identical bytes) and warms them, so each round draws
its own code layout: with one compile per page, pages differed by 2-4
points on the same pair of builds.

The gate's shipped builds are under target/budget/<profile>/shipped.wasm
(and <profile>~without-trace/ for the plain side); copy one aside before a
change to compare before and after. The page is a file:// page, not
cross-origin isolated: its 100 us clock is far below a 400-run block
(about 25 ms on the full-dev build).
"""
import base64, os, re, shutil, subprocess, sys, tempfile

MODES = ("replay", "off", "plain")


def page(a, mode_a, b, mode_b, rounds):
    enc = lambda f: base64.b64encode(open(f, "rb").read()).decode()
    return f"""<!doctype html><script>
const bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
const imports = () => ({{ env: {{ now_ms: () => performance.now() }} }});
let nonce = 0;
// A compile of its own: the bytes plus a custom section holding a nonce.
const load = b => {{
  const body = [1, 0x6e, ...new Uint8Array(new Float64Array([++nonce + Math.random()]).buffer)];
  const fresh = new Uint8Array(b.length + 2 + body.length);
  fresh.set(b);
  fresh.set([0, body.length, ...body], b.length);
  const e = new WebAssembly.Instance(new WebAssembly.Module(fresh), imports()).exports;
  e.rt_init(1);
  return e;
}};
const bytesA = bytes("{enc(a)}"), bytesB = bytes("{enc(b)}");
const TASKS = 96, RUNS = 400, ROUNDS = {rounds};
function runner(ex, mode, seed) {{
  if (mode === "replay") {{
    ex.replay_prepare(seed, TASKS);
    return () => {{ if (ex.replay_run(seed, TASKS, 1) !== 1) throw new Error("replay diverged"); }};
  }}
  if (mode === "off") return () => ex.replay_run(seed, TASKS, 0);
  return () => ex.workload_run(seed, TASKS);
}}
function block(f) {{
  const t0 = performance.now();
  for (let k = 0; k < RUNS; k++) f();
  return performance.now() - t0;
}}
const median = v => {{ v.sort((p, q) => p - q); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; }};
const parts = [], seeds = [];
for (const seed of [11, 29, 42, 73, 101]) {{
  const ratios = [];
  for (let r = 0; r < ROUNDS; r++) {{
    const fa = runner(load(bytesA), "{mode_a}", seed), fb = runner(load(bytesB), "{mode_b}", seed);
    // Long enough for V8's background tier-up of the hot functions to land.
    for (const t0 = performance.now(); performance.now() - t0 < 150; ) {{ fa(); fb(); }}
    let x, y;
    if (r % 2) {{ x = block(fa); y = block(fb); }} else {{ y = block(fb); x = block(fa); }}
    ratios.push(x / y);
  }}
  const m = median(ratios);
  seeds.push(m);
  parts.push(`seed ${{seed}} ${{((m - 1) * 100).toFixed(2)}} %`);
}}
console.log("RESULT A/B - 1: " + parts.join(", ") + "; median over seeds " + ((median(seeds) - 1) * 100).toFixed(2) + " %");
</script>"""


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[2] not in MODES or sys.argv[4] not in MODES:
        sys.exit(__doc__)
    a, mode_a, b, mode_b = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) == 6 else 16
    chrome = os.environ.get("CHROME") or shutil.which("chromium") or shutil.which("google-chrome")
    if not chrome:
        sys.exit("no Chromium: set $CHROME or install one (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as d:
        html = os.path.join(d, "bench.html")
        with open(html, "w") as f:
            f.write(page(a, mode_a, b, mode_b, rounds))
        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={d}/profile", "--enable-logging=stderr", "--v=0", "--dump-dom"]
        out = subprocess.run([chrome, *flags, "file://" + html], capture_output=True, text=True, timeout=900)
    m = re.search(r'RESULT ([^"]*)', out.stderr)
    if not m:
        sys.exit("the page printed no result:\n" + out.stderr[-3000:])
    print(m.group(1))


if __name__ == "__main__":
    main()
