//! OpenMetrics text → Prometheus text format 0.0.4.
//!
//! prometheus-client encodes OpenMetrics only. Scrapers that send `Accept: text/plain` (older
//! Prometheus, VictoriaMetrics agents, `curl`, Datadog's OpenMetrics check in text mode) expect
//! 0.0.4, which differs in a few places: no `# EOF` and `# UNIT`, a counter's family is named
//! with its `_total` suffix, no `_created` samples, no exemplars, `untyped` for `unknown`.

pub fn openmetrics_to_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<(&str, String)> = None;
    let mut counters: Vec<&str> = Vec::new();
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            pending_help = Some((name, text.replace("\\\"", "\"")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (family, kind) = match kind {
                "counter" => {
                    counters.push(name);
                    (format!("{name}_total"), "counter")
                }
                "unknown" => (name.to_string(), "untyped"),
                "info" | "stateset" => (name.to_string(), "gauge"),
                "gaugehistogram" => (name.to_string(), "histogram"),
                other => (name.to_string(), other),
            };
            if let Some((help_name, text)) = pending_help.take()
                && help_name == name
            {
                out.push_str(&format!("# HELP {family} {text}\n"));
            }
            out.push_str(&format!("# TYPE {family} {kind}\n"));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = line.split(" # ").next().unwrap_or(line);
        let name = sample.split(['{', ' ']).next().unwrap_or("");
        if let Some(base) = name.strip_suffix("_created")
            && counters.contains(&base)
        {
            continue;
        }
        out.push_str(sample);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS: &str = "# HELP amo_reconcile Reconciles by \\\"kind\\\".\n\
# TYPE amo_reconcile counter\n\
amo_reconcile_total{kind=\"MmsJob\",outcome=\"ok\"} 3\n\
amo_reconcile_created{kind=\"MmsJob\",outcome=\"ok\"} 1700000000.0\n\
# HELP amo_dts_lag_seconds Lag.\n\
# TYPE amo_dts_lag_seconds gauge\n\
# UNIT amo_dts_lag_seconds seconds\n\
amo_dts_lag_seconds{namespace=\"ns\",name=\"a\"} 3.5\n\
# TYPE amo_x unknown\n\
amo_x 1 # {trace_id=\"abc\"} 1.0\n\
# EOF\n";

    #[test]
    fn converts_the_parts_that_differ() {
        let text = openmetrics_to_text(OPENMETRICS);
        assert_eq!(
            text,
            "# HELP amo_reconcile_total Reconciles by \"kind\".\n\
# TYPE amo_reconcile_total counter\n\
amo_reconcile_total{kind=\"MmsJob\",outcome=\"ok\"} 3\n\
# HELP amo_dts_lag_seconds Lag.\n\
# TYPE amo_dts_lag_seconds gauge\n\
amo_dts_lag_seconds{namespace=\"ns\",name=\"a\"} 3.5\n\
# TYPE amo_x untyped\n\
amo_x 1\n"
        );
    }

    #[test]
    fn every_sample_of_the_registry_survives() {
        let m = super::super::Metrics::new();
        m.reconciled("DataSource", "ok", std::time::Duration::from_millis(5));
        m.set_leader("pod-a", true);
        let om = m.render();
        let text = m.render_text();
        assert!(!text.contains("# EOF"), "{text}");
        for line in om.lines().filter(|l| !l.starts_with('#')) {
            assert!(text.lines().any(|t| t == line), "lost {line} in\n{text}");
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut parts = line.split(' ').skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(
                kind != "counter" || name.ends_with("_total"),
                "0.0.4 names a counter family by its sample: {line}"
            );
        }
    }
}
