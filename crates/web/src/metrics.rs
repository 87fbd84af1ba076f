//! Prometheus text metrics, hand-rolled: request counts by route pattern, method and
//! status, and a latency histogram per route pattern. Route patterns (not raw paths)
//! label the series, so member keys and employer codes never appear in metrics.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Histogram bucket bounds in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

/// Counters shared by all requests.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_owned()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP collabo_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE collabo_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((route, method, status), n) in r.iter() {
                out.push_str(&format!(
                    "collabo_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP collabo_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE collabo_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    out.push_str(&format!(
                        "collabo_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}\n",
                        h.counts[i]
                    ));
                }
                out.push_str(&format!(
                    "collabo_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n",
                    h.total
                ));
                out.push_str(&format!(
                    "collabo_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n",
                    h.sum
                ));
                out.push_str(&format!(
                    "collabo_http_request_duration_seconds_count{{route=\"{route}\"}} {}\n",
                    h.total
                ));
            }
        }
        out
    }
}

/// Middleware: times every request and logs it (pattern only, never the raw path).
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.observe(&route, &method, status, seconds);
    tracing::info!(%route, %method, status, ms = seconds * 1000.0, "request");
    response
}
