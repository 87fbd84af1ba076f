//! The OpenAPI 3.1 document of `/api/v1`, generated from the route table so it cannot
//! drift from the router: every API route appears with its method, summary, path
//! parameters and the bearer-token requirement.
//!
//! Deliberately minimal: response bodies are described in words, not as schemas (the
//! wire types are few and documented in crates/web/README.md).

use crate::gate::Gate;
use crate::routes::specs;
use serde_json::{Map, Value, json};

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in specs().into_iter().filter(|s| s.api) {
        let params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": spec.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "OK (JSON)" },
                "401": { "description": "Missing or unknown bearer token" },
                "403": { "description": "The token's role may not do this" },
                "404": { "description": "Not found, or another employer's" },
                "422": { "description": "The uploaded file has problems (each with line and field)" }
            }
        });
        if spec.gate != Gate::Public {
            op["security"] = json!([{ "bearer": [] }]);
        }
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[spec.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Collabo API", "version": "1", "description": "コラボヘルス portal API for employers' and the society's systems." },
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
        "paths": paths
    })
}
