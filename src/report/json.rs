//! `report.json`: the model, pretty-printed, keys in the model's field order.

use super::model::Report;

/// The report as pretty-printed JSON with a final newline.
///
/// # Errors
/// Only if serialisation fails, which plain data with string keys does not.
pub fn to_json(report: &Report) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn round_trips_with_keys_in_model_order() {
        let report = Report::sample();
        let v: Value = serde_json::from_str(&to_json(&report).unwrap()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "month",
                "unit",
                "generated_at",
                "params",
                "formula",
                "weights",
                "workers",
                "grids",
                "units"
            ]
        );
        assert_eq!(v["month"], "2026-10");
        assert_eq!(v["workers"].as_array().unwrap().len(), report.workers.len());
        let w = &v["workers"][2];
        assert_eq!(w["name"], "赵<b>&\"敏'");
        assert_eq!(w["anomalies"]["mock_location"], 2);
        assert_eq!(w["weak"], true);
        // `None` is written as null, not left out, so every row has the same keys.
        assert!(v["workers"][0]["checkpoint_compliance"].is_null());
        assert_eq!(v["units"][4]["level"], "city");
        assert!(v["units"][4]["parent"].is_null());
        assert_eq!(v["params"]["timezone"], "Asia/Shanghai");
    }
}
