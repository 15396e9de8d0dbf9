// Shared helpers for this crate's scenarios: the imports the runtime needs.
export function imports() {
  return { env: { now_ms: () => performance.now() } };
}

// Warm one instance (not cold) for scenarios that time steady-state work.
export async function warmInstance(h) {
  const { instance } = await h.instantiate(imports());
  instance.exports.rt_init(h.seed);
  return instance;
}
