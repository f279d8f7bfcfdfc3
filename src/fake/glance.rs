//! The Image API v2 of a fake host, enough for `stackprov verify`: create an
//! image record, upload its data, show, list and delete it. Every request needs
//! an X-Auth-Token (which one is Keystone's business, checked in keystone.rs).

use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct FakeGlance {
    /// id → (name, status, bytes uploaded)
    pub images: BTreeMap<String, (String, String, usize)>,
    /// id → the data uploaded
    pub data: BTreeMap<String, Vec<u8>>,
    pub created: usize,
    pub deleted: usize,
}

impl FakeGlance {
    pub fn handle(
        &mut self,
        method: &str,
        target: &str,
        headers: &str,
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Value) {
        if super::keystone::auth_token(headers).is_none() {
            return (401, vec![], json!({"error": "no token"}));
        }
        let image = |id: &str, (name, status, size): &(String, String, usize)| json!({"id": id, "name": name, "status": status, "size": size});
        let parts: Vec<&str> = target.trim_start_matches('/').split('/').collect();
        match (method, parts.as_slice()) {
            ("POST", ["v2", "images"]) => {
                let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                if req["disk_format"] != "qcow2" || req["container_format"] != "bare" {
                    return (400, vec![], json!({"error": "formats"}));
                }
                self.created += 1;
                let id = format!("img-{}", self.created);
                let rec = (
                    req["name"].as_str().unwrap_or_default().to_string(),
                    "queued".to_string(),
                    0,
                );
                let v = image(&id, &rec);
                self.images.insert(id, rec);
                (201, vec![], v)
            }
            ("PUT", ["v2", "images", id, "file"]) => match self.images.get_mut(*id) {
                // a qcow2 header, or the upload is refused as Glance's format check would
                Some(rec) if body.starts_with(b"QFI\xfb") => {
                    *rec = (rec.0.clone(), "active".into(), body.len());
                    self.data.insert(id.to_string(), body.to_vec());
                    (204, vec![], Value::Null)
                }
                Some(_) => (400, vec![], json!({"error": "not a qcow2 image"})),
                None => (404, vec![], Value::Null),
            },
            ("GET", ["v2", "images", id, "file"]) => match self.data.get(*id) {
                Some(d) => (
                    200,
                    vec![(super::tunnel::RAW_BODY_HEADER.to_string(), hex::encode(d))],
                    Value::Null,
                ),
                None => (404, vec![], Value::Null),
            },
            ("GET", ["v2", "images", id]) => match self.images.get(*id) {
                Some(rec) => (200, vec![], image(id, rec)),
                None => (404, vec![], Value::Null),
            },
            ("GET", ["v2", "images"]) => {
                let list: Vec<Value> = self.images.iter().map(|(id, r)| image(id, r)).collect();
                (200, vec![], json!({"images": list}))
            }
            ("DELETE", ["v2", "images", id]) => match self.images.remove(*id) {
                Some(_) => {
                    self.data.remove(*id);
                    self.deleted += 1;
                    (204, vec![], Value::Null)
                }
                None => (404, vec![], Value::Null),
            },
            _ => (
                404,
                vec![],
                json!({"error": format!("fake glance: no route {method} {target}")}),
            ),
        }
    }
}
