//! From the files as written to the validated [`Config`]: every check that
//! needs more than a type (caps, units, sources, features, profiles, the
//! dependency policy), each failing with a located [`ConfigError`].

use super::error::{parse_toml, Locator};
use super::*;
use crate::tomlspan::Spans;

pub(super) fn cap_value(
    loc: &Locator,
    key: String,
    v: &Spanned<toml::Value>,
) -> Result<f64, ConfigError> {
    let n = match v.get_ref() {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        other => {
            return Err(loc.err(
                v.span(),
                key,
                format!("cap must be a number, found {}", other.type_str()),
                "a non-negative number in the metric's unit, e.g. 650 or 2.5",
            ))
        }
    };
    if !n.is_finite() || n < 0.0 {
        return Err(loc.err(
            v.span(),
            key,
            format!("cap must be a non-negative finite number, found {n}"),
            "a non-negative number in the metric's unit, e.g. 650 or 2.5",
        ));
    }
    Ok(n)
}

/// `[dependencies]` as one policy per profile: the table's entries plus the
/// profile's own. Rules and profile names are checked here.
pub(super) fn dependency_policies(
    loc: &Locator,
    d: Option<&Dependencies>,
    profiles: &[Profile],
) -> Result<Option<BTreeMap<String, crate::closure::Policy>>, ConfigError> {
    let Some(d) = d else { return Ok(None) };
    let hint = "a crate name, or name@REQ with a semver requirement: \"libc\", \"nix@<0.27\"";
    let rules =
        |list: &[Spanned<String>], key: &str| -> Result<Vec<crate::closure::Rule>, ConfigError> {
            list.iter()
                .map(|r| {
                    crate::closure::Rule::parse(r.get_ref())
                        .map_err(|m| loc.err(r.span(), key.to_string(), m, hint))
                })
                .collect()
        };
    let base = rules(&d.forbidden, "dependencies.forbidden")?;
    for name in d.profile.keys() {
        if !profiles.iter().any(|p| &p.name == name.get_ref()) {
            let known: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(loc.err(
                name.span(),
                format!("dependencies.profile.{}", name.get_ref()),
                format!("no profile `{}` in [subject] profiles", name.get_ref()),
                &format!("one of: {}", known.join(", ")),
            ));
        }
    }
    let mut out = BTreeMap::new();
    for p in profiles {
        let own = d
            .profile
            .iter()
            .find(|(k, _)| k.get_ref() == &p.name)
            .map(|(_, v)| v);
        let mut policy = crate::closure::Policy {
            id: d
                .id
                .clone()
                .unwrap_or_else(|| crate::closure::DEFAULT_ID.into()),
            forbidden: base.clone(),
            allow: d.allow.clone(),
        };
        if let Some(o) = own {
            policy.forbidden.extend(rules(
                &o.forbidden,
                &format!("dependencies.profile.{}.forbidden", p.name),
            )?);
            policy.allow.extend(o.allow.iter().cloned());
        }
        out.insert(p.name.clone(), policy);
    }
    Ok(Some(out))
}

/// Every profile `[subject] profiles` names, from its file.
pub(super) fn load_profiles(
    loc: &Locator,
    subject: &Subject,
    root: &Path,
    features: &[String],
) -> Result<Vec<Profile>, ConfigError> {
    let mut profiles = Vec::new();
    for name in subject.profiles.get_ref() {
        let file = root
            .join(&subject.profiles_dir)
            .join(format!("{name}.toml"));
        if !file.is_file() {
            return Err(loc.err(
                subject.profiles.span(),
                "subject.profiles".into(),
                format!("profile `{name}` has no file {}", file.display()),
                "names of files in the profiles directory, without .toml",
            ));
        }
        profiles.push(load_profile(&file, name, features)?);
    }
    Ok(profiles)
}

/// The numbers of `[protocol]`, `[escalation]`, `[comparison]` and the
/// environments: in range, finite, and sane together.
///
/// Long by design: one check per number, each with its own key, message and valid example, so an error points at the right line.
pub(super) fn check_protocol_and_escalation(
    raw: &BudgetsFile,
    at: &dyn Fn(&str) -> Option<usize>,
    budgets_file: &Path,
) -> Result<(), ConfigError> {
    let p = &raw.protocol;
    let err_at = |key: &str, m: String, h: &str| ConfigError {
        file: budgets_file.into(),
        line: at(key),
        key: key.into(),
        message: m,
        hint: h.into(),
    };
    let proto_err = |k: &str, m: &str, h: &str| err_at(&format!("protocol.{k}"), m.into(), h);
    if p.seeds.is_empty() {
        return Err(proto_err(
            "seeds",
            "no seeds",
            "seeds = [11, 29, 42, 73, 101]",
        ));
    }
    if let Some((i, seed)) = p
        .seeds
        .iter()
        .enumerate()
        .find(|(i, s)| p.seeds[..*i].contains(s))
    {
        // A repeated seed is the same run counted twice: it shrinks the
        // evidence while the report claims five seeds.
        return Err(err_at(
            &format!("protocol.seeds[{i}]"),
            format!("seed {seed} appears more than once"),
            "distinct seeds, e.g. seeds = [11, 29, 42, 73, 101]",
        ));
    }
    if p.latency_iterations < 2000 {
        return Err(proto_err(
            "latency_iterations",
            "fewer than 2000 iterations per seed cannot gate (README, 'Measurement protocol')",
            "latency_iterations >= 2000; use --quick for short local runs",
        ));
    }
    // Each zero is reported under its own key, so the error names its line.
    for (key, value) in [
        ("batch", p.batch as u64),
        ("quick_iterations", p.quick_iterations as u64),
        ("heap_samples", p.heap_samples as u64),
        ("scenario_timeout_s", p.scenario_timeout_s),
    ] {
        if value == 0 {
            return Err(proto_err(
                key,
                &format!("{key} must be positive"),
                "a positive integer",
            ));
        }
    }
    if p.blocks == 0 || p.blocks > p.latency_iterations / 100 {
        return Err(proto_err(
            "blocks",
            "blocks must be at least 1 and leave at least 100 samples per block",
            &format!("blocks = {}", crate::config::Protocol::default().blocks),
        ));
    }
    if !(p.clock_floor_ticks >= 1.0) {
        return Err(proto_err(
            "clock_floor_ticks",
            "the clock floor must be at least one tick",
            "clock_floor_ticks = 10",
        ));
    }
    if !(raw.comparison.regression_pp >= 0.0) {
        return Err(err_at(
            "comparison.regression_pp",
            format!(
                "{} is not a non-negative number of percentage points",
                raw.comparison.regression_pp
            ),
            "regression_pp = 3.0",
        ));
    }
    let esc = &raw.escalation;
    if esc.ledger_window < 8 {
        return Err(err_at(
            "escalation.ledger_window",
            format!(
                "a ledger window of {} runs is too short to show a trend or hold a warn streak",
                esc.ledger_window
            ),
            "ledger_window = 8 or more",
        ));
    }
    if esc.consecutive_warns_to_fail < 1
        || esc.consecutive_warns_to_fail as usize > esc.ledger_window
    {
        return Err(err_at(
            "escalation.consecutive_warns_to_fail",
            format!(
                "{} consecutive warns cannot be counted in a window of {} runs",
                esc.consecutive_warns_to_fail, esc.ledger_window
            ),
            "at least 1 and at most ledger_window, e.g. consecutive_warns_to_fail = 2",
        ));
    }
    if !(esc.baseline_regression_pct >= 0.0) {
        return Err(err_at(
            "escalation.baseline_regression_pct",
            format!(
                "{} is not a non-negative percentage",
                esc.baseline_regression_pct
            ),
            "baseline_regression_pct = 10.0",
        ));
    }
    for (name, env) in &raw.environment {
        if !(env.cpu_throttle >= 1.0) {
            return Err(err_at(
                &format!("environment.{name}.cpu_throttle"),
                format!("throttle {} is below 1", env.cpu_throttle),
                "1 for none, 4 for a mid-tier phone",
            ));
        }
        let can = env.browser.capabilities();
        let engine = env.browser.product();
        // Silently ignoring a setting the engine cannot apply would
        // measure an environment other than the one named.
        if !can.cpu_throttle && env.cpu_throttle != 1.0 {
            return Err(err_at(
                &format!("environment.{name}.cpu_throttle"),
                format!("{engine} cannot be CPU-throttled (throttling is a Chromium DevTools command), but cpu_throttle is {}", env.cpu_throttle),
                &format!("cpu_throttle = 1.0 for a {engine} environment; measure the throttled phone proxy in Chromium"),
            ));
        }
        if !can.js_flags && !env.js_flags.is_empty() {
            return Err(err_at(
                &format!("environment.{name}.js_flags"),
                format!("js_flags are V8 flags, which {engine} does not take"),
                &format!("remove js_flags from the {engine} environment"),
            ));
        }
    }

    Ok(())
}

/// One `[[metric]]`, validated against the profiles and environments.
/// Long by design: one check per key of the table, in the order a reader
/// meets them in budgets.toml, each with its located error.
pub(super) fn metric_spec(
    loc: &Locator,
    i: usize,
    m: &Spanned<Metric>,
    raw: &BudgetsFile,
    profiles: &[Profile],
) -> Result<MetricSpec, ConfigError> {
    let profile_names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let m_span = m.span();
    let m = m.get_ref();
    let key = |k: &str| format!("metric[{i}] ({}).{k}", m.id);
    if !UNITS.contains(&m.unit.get_ref().as_str()) {
        return Err(loc.err(
            m.unit.span(),
            key("unit"),
            format!("unknown unit `{}`", m.unit.get_ref()),
            &UNITS.join(", "),
        ));
    }
    let src_str = m.source.get_ref().as_str();
    let source = match src_str {
        "size.raw" => Source::Size(SizeKind::Raw),
        "size.gzip" => Source::Size(SizeKind::Gzip),
        "size.brotli" => Source::Size(SizeKind::Brotli),
        "size.stripped" => Source::Size(SizeKind::Stripped),
        s if s.starts_with("scenario:") && s.len() > 9 => Source::Scenario(s[9..].to_string()),
        s if s.starts_with(crate::builtin::PREFIX) => Source::Scenario(s.to_string()),
        _ => {
            return Err(loc.err(
                m.source.span(),
                key("source"),
                format!("unknown source `{src_str}`"),
                &format!(
                    "{}, scenario:<name> or builtin:<kind> ({})",
                    SIZE_SOURCES.join(", "),
                    crate::builtin::Builtin::spelled_all()
                ),
            ))
        }
    };
    let params = builtin_params(loc, &key, m)?;
    if let Some(c) = &m.covers {
        if !HEAP_UNITS.contains(&m.unit.get_ref().as_str()) || matches!(source, Source::Size(_)) {
            return Err(loc.err(
                c.span(),
                key("covers"),
                "`covers` says what a heap figure covers; this metric is not a heap metric".into(),
                "drop the key",
            ));
        }
        if !["js-heap+wasm-memory", "wasm-memory"].contains(&c.get_ref().as_str()) {
            return Err(loc.err(
                c.span(),
                key("covers"),
                format!("unknown heap coverage `{}`", c.get_ref()),
                "\"js-heap+wasm-memory\" (the default) or \"wasm-memory\"",
            ));
        }
    }
    let environment = match (&source, &m.environment) {
        (Source::Size(_), None) => "size".to_string(),
        (Source::Size(_), Some(e)) => {
            return Err(loc.err(
                e.span(),
                key("environment"),
                "size metrics take no environment".into(),
                "remove the key",
            ))
        }
        (Source::Scenario(_), None) => {
            return Err(loc.err(
                m_span,
                key("environment"),
                "scenario metric without an environment".into(),
                &env_names(&raw.environment),
            ))
        }
        (Source::Scenario(_), Some(e)) => {
            if !raw.environment.contains_key(e.get_ref()) {
                return Err(loc.err(
                    e.span(),
                    key("environment"),
                    format!("unknown environment `{}`", e.get_ref()),
                    &env_names(&raw.environment),
                ));
            }
            let browser = raw.environment[e.get_ref()].browser;
            let can = browser.capabilities();
            if HEAP_UNITS.contains(&m.unit.get_ref().as_str())
                && !wasm_memory_only(m)
                && !(can.forced_gc && can.js_heap)
            {
                // A JS heap figure needs a forced GC and a precise heap
                // reading; without them it would be noise or 0. The linear
                // memory needs neither.
                return Err(loc.err(
                    e.span(),
                    key("environment"),
                    format!("`{}` is a {} environment, which gives a page no forced GC and no precise JS heap figure, so this heap metric (JS heap + wasm memory) cannot be measured there", e.get_ref(), browser.product()),
                    "covers = \"wasm-memory\" (the linear memory alone, with the same growth check), or a Chromium environment",
                ));
            }
            e.get_ref().clone()
        }
    };
    let applies: Vec<String> = match &m.profiles {
        Some(ps) => {
            for p in ps.get_ref() {
                if !profile_names.contains(p) {
                    return Err(loc.err(
                        ps.span(),
                        key("profiles"),
                        format!("unknown profile `{p}`"),
                        &profile_names.join(", "),
                    ));
                }
            }
            ps.get_ref().clone()
        }
        None => profile_names.clone(),
    };
    for k in m.hard.get_ref().keys() {
        if !applies.contains(k) {
            let v = &m.hard.get_ref()[k];
            return Err(loc.err(
                v.span(),
                key(&format!("hard.{k}")),
                format!("cap for profile `{k}`, which this metric does not apply to"),
                &applies.join(", "),
            ));
        }
    }
    let mut caps = BTreeMap::new();
    for prof in &applies {
        let hard = match m.hard.get_ref().get(prof) {
            Some(v) => cap_value(loc, key(&format!("hard.{prof}")), v)?,
            None => {
                return Err(loc.err(
                    m.hard.span(),
                    key(&format!("hard.{prof}")),
                    format!("no hard cap for profile `{prof}`"),
                    &format!("a cap for each of: {}", applies.join(", ")),
                ))
            }
        };
        let warn = match &m.warn {
            None => None,
            Some(w) => match w.get_ref().get(prof) {
                Some(v) => {
                    let wv = cap_value(loc, key(&format!("warn.{prof}")), v)?;
                    if wv > hard {
                        return Err(loc.err(
                            v.span(),
                            key(&format!("warn.{prof}")),
                            format!("warn {wv} is above the hard cap {hard}"),
                            "warn <= hard",
                        ));
                    }
                    Some(wv)
                }
                None if m.kind == GateKind::WarnThenBlock => {
                    return Err(loc.err(
                        w.span(),
                        key(&format!("warn.{prof}")),
                        format!("no warn threshold for profile `{prof}`"),
                        &applies.join(", "),
                    ))
                }
                None => None,
            },
        };
        if m.kind == GateKind::WarnThenBlock && warn.is_none() {
            return Err(loc.err(
                m_span.clone(),
                key("warn"),
                "a warn-then-block metric needs warn thresholds".into(),
                "[metric.warn] with one value per profile",
            ));
        }
        caps.insert(prof.clone(), Caps { hard, warn });
    }
    let reference_without = match &m.reference_without_features {
        None => None,
        Some(fs) => {
            if m.unit.get_ref() != "%" || !matches!(source, Source::Scenario(_)) {
                return Err(loc.err(
                    fs.span(),
                    key("reference_without_features"),
                    "a reference build makes a relative scenario metric; its unit must be `%`"
                        .into(),
                    "unit = \"%\" and source = \"scenario:<name>\", or drop the key",
                ));
            }
            for prof in &applies {
                let p = profiles
                    .iter()
                    .find(|p| &p.name == prof)
                    .expect("validated above");
                if let Some(f) = fs.get_ref().iter().find(|f| !p.features.contains(f)) {
                    return Err(loc.err(
                        fs.span(),
                        key("reference_without_features"),
                        format!("profile `{prof}` has no feature `{f}` to remove"),
                        &format!("features of `{prof}`: {}", p.features.join(", ")),
                    ));
                }
            }
            Some(fs.get_ref().clone())
        }
    };
    let measures = match (&source, &reference_without) {
        (Source::Size(_), _) => MetricKind::Size,
        (_, Some(_)) => MetricKind::Relative,
        _ if HEAP_UNITS.contains(&m.unit.get_ref().as_str()) => MetricKind::Heap,
        _ => MetricKind::Timing,
    };
    let blocks = match &m.blocks {
        None => None,
        Some(b) => {
            let n = *b.get_ref();
            if measures != MetricKind::Timing && measures != MetricKind::Relative {
                return Err(loc.err(
                    b.span(),
                    key("blocks"),
                    "only a timing is taken in blocks; a size or heap metric has none".into(),
                    "drop the key",
                ));
            }
            if !(2..=crate::config::MAX_METRIC_BLOCKS).contains(&n) {
                return Err(loc.err(
                    b.span(),
                    key("blocks"),
                    format!(
                        "blocks = {n}: a comparison needs at least 2 blocks, and a metric takes at most {}",
                        crate::config::MAX_METRIC_BLOCKS
                    ),
                    &format!("2 to {}", crate::config::MAX_METRIC_BLOCKS),
                ));
            }
            Some(n)
        }
    };
    Ok(MetricSpec {
        id: m.id.clone(),
        name: m.name.clone(),
        unit: m.unit.get_ref().clone(),
        kind: m.kind,
        measures,
        wasm_memory_only: wasm_memory_only(m),
        source,
        environment,
        caps,
        statistic: m.statistic,
        reference_without,
        source_line: Some(line_of(loc.src, m.source.span().start)),
        params,
        blocks,
        suite: m.tests.as_ref().map(|t| t.get_ref().target.clone()),
    })
}

/// A heap metric that covers the linear memory alone (`covers`).
fn wasm_memory_only(m: &Metric) -> bool {
    m.covers
        .as_ref()
        .is_some_and(|c| c.get_ref() == "wasm-memory")
}

/// A built-in metric's parameters, validated (`builtin.rs`); a metric of
/// another source must not carry the built-in keys.
fn builtin_params(
    loc: &Locator,
    key: &dyn Fn(&str) -> String,
    m: &Metric,
) -> Result<Option<serde_json::Value>, ConfigError> {
    let keys = crate::builtin::Keys {
        call: m.call.as_ref(),
        setup: m.setup.as_ref(),
        teardown: m.teardown.as_ref(),
        imports: m.imports.as_ref(),
        soak: m.soak.as_ref(),
        tests: m.tests.as_ref(),
    };
    let Some(kind) = m.source.get_ref().strip_prefix(crate::builtin::PREFIX) else {
        let mut given = keys.call_keys();
        given.extend(keys.tests.map(|t| ("tests", t.span())));
        if let Some((k, span)) = given.into_iter().next() {
            return Err(loc.err(
                span,
                key(k),
                format!(
                    "`{k}` belongs to built-in scenarios, but the source is `{}`",
                    m.source.get_ref()
                ),
                "source = \"builtin:call\" (or cold-init, heap), or drop the key",
            ));
        }
        return Ok(None);
    };
    crate::builtin::params(kind, m.unit.get_ref(), m.source.span(), &keys)
        .map(Some)
        .map_err(|p| loc.err(p.span, key(&p.key), p.message, &p.hint))
}

pub(super) fn env_names(envs: &BTreeMap<String, Environment>) -> String {
    envs.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The `[features]` a subject manifest declares.
pub(super) fn subject_features(manifest: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read subject manifest {}: {e}", manifest.display()))?;
    let v: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{}: {}", manifest.display(), e.message()))?;
    let mut out: Vec<String> = v
        .get("features")
        .and_then(|f| f.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    // Optional dependencies are features too.
    if let Some(deps) = v.get("dependencies").and_then(|d| d.as_table()) {
        for (k, d) in deps {
            if d.get("optional").and_then(|o| o.as_bool()) == Some(true) {
                out.push(k.clone());
            }
        }
    }
    Ok(out)
}

/// Read one profile file and check it against the subject's features.
///
/// Long by design: one check per key of a profile file, each with its own span and valid example.
pub fn load_profile(file: &Path, name: &str, features: &[String]) -> Result<Profile, ConfigError> {
    let src = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.into(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
        hint: String::new(),
    })?;
    let raw: ProfileFile = parse_toml(
        file,
        &src,
        "keys: description, [cargo] features/profile/rustflags/settings, [wasm_opt] enabled/level/strip_debug/strip_dwarf/strip_producers/passes",
    )?;
    let loc = Locator { file, src: &src };
    let empty = Vec::new();
    let feats = raw
        .cargo
        .features
        .as_ref()
        .map(|f| f.get_ref())
        .unwrap_or(&empty);
    for f in feats {
        if !features.contains(f) {
            return Err(loc.err(
                raw.cargo
                    .features
                    .as_ref()
                    .map(|f| f.span())
                    .unwrap_or(0..0),
                "cargo.features".into(),
                format!("the subject has no feature `{f}`"),
                &format!(
                    "one of: {}",
                    if features.is_empty() {
                        "(none declared)".into()
                    } else {
                        features.join(", ")
                    }
                ),
            ));
        }
    }
    let settings = raw
        .cargo
        .settings
        .as_ref()
        .map(|s| s.get_ref().clone())
        .unwrap_or_default();
    for (k, v) in &settings {
        let span = raw
            .cargo
            .settings
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(0..0);
        if !CARGO_SETTINGS.contains(&k.as_str()) {
            return Err(loc.err(
                span,
                format!("cargo.settings.{k}"),
                format!("`{k}` is not a cargo profile setting the gate passes"),
                &CARGO_SETTINGS.join(", "),
            ));
        }
        if k == "strip" && crate::cargoconf::strips_symbols(v) {
            return Err(loc.err(
                span,
                "cargo.settings.strip".into(),
                "strip = \"symbols\" removes the names attribution needs".into(),
                "strip = \"debuginfo\" or \"none\"; the shipped file is stripped by [wasm_opt] strip_debug / strip_producers",
            ));
        }
    }
    if !LEVELS.contains(&raw.wasm_opt.level.as_str()) {
        let line = Spans::of(&src).line(&src, "wasm_opt.level");
        return Err(ConfigError {
            file: file.into(),
            line,
            key: "wasm_opt.level".into(),
            message: format!("unknown level `{}`", raw.wasm_opt.level),
            hint: LEVELS.join(", "),
        });
    }
    for (i, pass) in raw.wasm_opt.passes.iter().enumerate() {
        if crate::optimize::pass_by_name(pass).is_none() {
            let line = Spans::of(&src).line(&src, &format!("wasm_opt.passes[{i}]"));
            return Err(ConfigError {
                file: file.into(),
                line,
                key: "wasm_opt.passes".into(),
                message: format!("unknown binaryen pass `{pass}`"),
                hint: "a binaryen pass name such as vacuum, dce, strip-debug (see wasm-opt --help)"
                    .into(),
            });
        }
    }
    Ok(Profile {
        name: name.into(),
        file: file.into(),
        description: raw.description,
        features: raw
            .cargo
            .features
            .map(|f| f.into_inner())
            .unwrap_or_default(),
        cargo_profile: raw.cargo.profile,
        rustflags: raw.cargo.rustflags,
        cargo_settings: settings,
        wasm_opt: raw.wasm_opt,
        build_env: Vec::new(),
    })
}
