//! Reading Prometheus HTTP API answers.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::SourceError;

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// The `(errorType, error)` of an error answer, if the body is one.
pub(crate) fn api_error(body: &str) -> Option<(String, String)> {
    let e: Envelope = serde_json::from_str(body).ok()?;
    (e.status == "error").then(|| {
        (
            e.error_type.unwrap_or_else(|| "unknown".into()),
            e.error.unwrap_or_default(),
        )
    })
}

/// The samples of the single series of a `query_range` answer, in the server's order;
/// an answer without any series gives an empty vector. Sample values keep Prometheus'
/// `NaN` and `±Inf`: deciding what they mean is the caller's business.
pub fn parse_matrix(body: &str, query: &str) -> Result<Vec<(f64, f64)>, SourceError> {
    let malformed = |reason: String| SourceError::Malformed {
        reason,
        query: query.to_string(),
    };
    let envelope: Envelope = serde_json::from_str(body)
        .map_err(|e| malformed(format!("not a Prometheus API answer: {e}")))?;
    if envelope.status == "error" {
        return Err(SourceError::Query {
            kind: envelope.error_type.unwrap_or_else(|| "unknown".into()),
            message: envelope.error.unwrap_or_default(),
            query: query.to_string(),
        });
    }
    if envelope.status != "success" {
        return Err(malformed(format!("status {:?}", envelope.status)));
    }
    let data = envelope
        .data
        .ok_or_else(|| malformed("no data in a success answer".into()))?;
    if data.result_type != "matrix" {
        return Err(malformed(format!(
            "result type {:?}, expected \"matrix\"",
            data.result_type
        )));
    }
    match data.result.len() {
        0 => Ok(Vec::new()),
        1 => {
            let series = &data.result[0];
            series
                .values
                .iter()
                .map(|(ts, v)| match v.parse::<f64>() {
                    Ok(x) if ts.is_finite() => Ok((*ts, x)),
                    _ => Err(malformed(format!("sample [{ts}, {v:?}] is not a number"))),
                })
                .collect()
        }
        count => {
            let labels = data
                .result
                .iter()
                .take(3)
                .map(|s| {
                    let pairs: Vec<String> =
                        s.metric.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                    format!("{{{}}}", pairs.join(", "))
                })
                .collect::<Vec<_>>()
                .join(" ");
            Err(SourceError::SeveralSeries {
                count,
                labels,
                query: query.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_gives_its_samples_with_nan_and_inf_kept() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"version":"v1"},"values":[[1700000000,"0.5"],[1700000060,"NaN"],[1700000120,"+Inf"]]}]}}"#;
        let s = parse_matrix(body, "q").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (1700000000.0, 0.5));
        assert!(s[1].1.is_nan());
        assert_eq!(s[2].1, f64::INFINITY);
    }

    #[test]
    fn no_series_is_empty_not_an_error() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_matrix(body, "q").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_query() {
        let several = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"pod":"a"},"values":[]},{"metric":{"pod":"b"},"values":[]}]}}"#;
        let e = parse_matrix(several, "rate(x[1m])")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2 series") && e.contains("pod=\"a\"") && e.contains("rate(x[1m])"),
            "{e}"
        );

        let refused =
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        let e = parse_matrix(refused, "sum(").unwrap_err().to_string();
        assert!(
            e.contains("bad_data") && e.contains("parse error") && e.contains("sum("),
            "{e}"
        );
        assert_eq!(api_error(refused).unwrap().0, "bad_data");

        for body in [
            "<html>",
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#,
        ] {
            assert!(
                matches!(parse_matrix(body, "q"), Err(SourceError::Malformed { .. })),
                "{body}"
            );
        }
    }
}
