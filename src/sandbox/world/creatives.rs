//! Creatives of destination offers (`/v1/networks/creatives`, creatives.yaml
//! and the LIVE create page): the create and full-replacement rules, the files
//! they attach from temp uploads, and the object's JSON shape.
//!
//! Rules (LIVE): required `network_offer_id, name, creative_type,
//! creative_status, is_private, additional_offer_ids,
//! is_apply_specific_affiliates`; `html_code` for html creatives;
//! `email_from` and `email_subject` for email creatives; `resource_file` for
//! image, thumbnail, archive and video creatives. A PUT without
//! `resource_file` keeps the file it has (the file is not a field a GET
//! returns, so a client that PUTs what it read could not send it back).

use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::body::Fields;
use super::destination::Destination;
use super::uploads::{FileRef, Use, parse_file_ref};

/// `creative_type` (creatives.yaml).
pub(crate) const CREATIVE_TYPES: &[&str] = &[
    "image",
    "html",
    "thumbnail",
    "email",
    "archive",
    "video",
    "text",
    "link",
];
/// `creative_status` of the Creative object. (`CreativeInput` lists only active
/// and deleted; the object and the bulk edit also know paused.)
pub(crate) const CREATIVE_STATUS: &[&str] = &["active", "paused", "deleted"];
/// Types whose content is an uploaded file.
const FILE_TYPES: &[&str] = &["image", "thumbnail", "archive", "video"];
/// Types whose content is text in `html_code`. For text and link creatives the
/// docs name no field; the source offers' creatives (affiliate view) carry
/// their text in `html_code`, so the sandbox requires it there too.
const CODE_TYPES: &[&str] = &["html", "text", "link"];

/// Writable keys, then output-only ones a GET returns (accepted and ignored).
/// `html_assets` describes files Everflow derived from `html_files`; it is
/// accepted and ignored like the output fields.
const KNOWN: &[&str] = &[
    "network_offer_id",
    "name",
    "creative_type",
    "creative_status",
    "is_private",
    "additional_offer_ids",
    "is_apply_specific_affiliates",
    "html_code",
    "width",
    "height",
    "email_from",
    "email_subject",
    "email_subject_lines",
    "email_from_lines",
    "resource_file",
    "html_files",
    "html_assets",
    "network_offer_creative_id",
    "network_id",
    "resource_url",
    "time_created",
    "time_saved",
    "relationship",
    "optimized_thumbnail_url",
    "network_offer_name",
];

/// The writable fields of one creative, validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CreativeInput {
    pub offer_id: u64,
    pub name: String,
    pub creative_type: String,
    pub creative_status: String,
    pub is_private: bool,
    pub additional_offer_ids: Vec<u64>,
    pub is_apply_specific_affiliates: bool,
    pub html_code: String,
    pub width: u64,
    pub height: u64,
    pub email_from: String,
    pub email_subject: String,
    pub email_subject_lines: String,
    pub email_from_lines: String,
}

/// One stored creative: its fields and the asset holding its file.
#[derive(Clone, Debug)]
pub(crate) struct Creative {
    pub id: u64,
    pub fields: CreativeInput,
    pub asset_id: Option<u64>,
    pub time_created: u64,
    pub time_saved: u64,
}

impl Creative {
    pub fn offer_id(&self) -> u64 {
        self.fields.offer_id
    }
}

/// Validates a creative body (POST, or PUT for `path_id`); the file and the
/// offer references are checked against the network by the caller.
pub(crate) fn parse_creative_body(
    body: Option<&Value>,
    path_id: Option<u64>,
) -> Result<(CreativeInput, Option<FileRef>), ApiError> {
    let f = Fields::new(body, KNOWN)?;
    if let Some(id) = path_id {
        f.same_id("network_offer_creative_id", id)?;
    }
    let input = CreativeInput {
        offer_id: f.id("network_offer_id")?,
        name: f.text("name")?,
        creative_type: f.choice("creative_type", CREATIVE_TYPES)?,
        creative_status: f.choice("creative_status", CREATIVE_STATUS)?,
        is_private: f.flag("is_private")?,
        additional_offer_ids: f.ids("additional_offer_ids")?,
        is_apply_specific_affiliates: f.flag("is_apply_specific_affiliates")?,
        html_code: f.opt_text("html_code")?,
        width: f.opt_u64("width")?.unwrap_or(0),
        height: f.opt_u64("height")?.unwrap_or(0),
        email_from: f.opt_text("email_from")?,
        email_subject: f.opt_text("email_subject")?,
        email_subject_lines: f.opt_text("email_subject_lines")?,
        email_from_lines: f.opt_text("email_from_lines")?,
    };
    let ty = input.creative_type.as_str();
    if CODE_TYPES.contains(&ty) && input.html_code.trim().is_empty() {
        return Err(ApiError::bad_request(format!(
            "html_code is required for {ty} creatives"
        )));
    }
    if ty == "email" {
        for (k, v) in [
            ("email_from", &input.email_from),
            ("email_subject", &input.email_subject),
        ] {
            if v.trim().is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{k} is required for email creatives"
                )));
            }
        }
    }
    if input.additional_offer_ids.contains(&input.offer_id) {
        return Err(ApiError::bad_request(
            "additional_offer_ids must not contain network_offer_id",
        ));
    }
    // Archive creatives may bring their HTML as uploads; the sandbox does not
    // model those files, and saying so beats storing a creative without them.
    if f.get("html_files")
        .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
    {
        return Err(ApiError::bad_request(
            "html_files is not supported by the sandbox",
        ));
    }
    let file = match f.get("resource_file") {
        None => None,
        Some(_) if !FILE_TYPES.contains(&ty) => {
            return Err(ApiError::bad_request(format!(
                "resource_file is only for image, thumbnail, archive and video creatives, not {ty}"
            )));
        }
        Some(v) => Some(parse_file_ref("resource_file", v)?),
    };
    Ok((input, file))
}

fn file_use(creative_type: &str) -> Use {
    if matches!(creative_type, "image" | "thumbnail") {
        Use::Image
    } else {
        Use::Any
    }
}

impl Destination {
    /// Offer references and the file: everything a write checks before it
    /// changes anything. `keeps` is the asset a PUT would keep without a file.
    fn check_creative(
        &self,
        input: &CreativeInput,
        file: Option<&FileRef>,
        keeps: Option<u64>,
    ) -> Result<(), ApiError> {
        for (k, id) in std::iter::once(("network_offer_id", &input.offer_id)).chain(
            input
                .additional_offer_ids
                .iter()
                .map(|id| ("additional_offer_ids", id)),
        ) {
            if !self.offers.contains_key(id) {
                return Err(ApiError::bad_request(format!(
                    "{k}: offer {id} does not exist"
                )));
            }
        }
        let ty = input.creative_type.as_str();
        match file {
            Some(file) => self.media.check("resource_file", file, file_use(ty)),
            None if FILE_TYPES.contains(&ty) && keeps.is_none() => Err(ApiError::bad_request(
                format!("resource_file is required for {ty} creatives"),
            )),
            None => Ok(()),
        }
    }

    /// Attaches the file (if any) and fills the size from the image when the
    /// body gave none; returns the asset the creative ends up with.
    fn attach_creative_file(
        &mut self,
        input: &mut CreativeInput,
        file: Option<&FileRef>,
        kept: Option<u64>,
    ) -> Result<Option<u64>, ApiError> {
        let ty = input.creative_type.clone();
        if !FILE_TYPES.contains(&ty.as_str()) {
            return Ok(None);
        }
        let asset_id = match file {
            Some(file) => Some(self.media.attach("resource_file", file, file_use(&ty))?.id),
            None => kept,
        };
        let image = asset_id
            .and_then(|id| self.media.asset(id))
            .and_then(|a| a.image);
        if let Some(image) = image
            && input.width == 0
            && input.height == 0
        {
            input.width = u64::from(image.width);
            input.height = u64::from(image.height);
        }
        Ok(asset_id)
    }

    /// `POST /v1/networks/creatives` after body validation.
    pub fn create_creative(
        &mut self,
        mut input: CreativeInput,
        file: Option<&FileRef>,
        clock: &mut Clock,
    ) -> Result<u64, ApiError> {
        self.check_creative(&input, file, None)?;
        let asset_id = self.attach_creative_file(&mut input, file, None)?;
        let id = self.creatives.allocate();
        let now = clock.now();
        let creative = Creative {
            id,
            fields: input,
            asset_id,
            time_created: now,
            time_saved: now,
        };
        self.creatives.items.insert(id, creative);
        Ok(id)
    }

    /// `PUT /v1/networks/creatives/{id}`: full replacement, keeping the file
    /// when none is sent.
    pub fn replace_creative(
        &mut self,
        id: u64,
        mut input: CreativeInput,
        file: Option<&FileRef>,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.creatives.get(id).cloned() else {
            return Err(ApiError::no_such("creative", id));
        };
        // As for offer URLs: a creative stays with the offer it was made for.
        if input.offer_id != old.fields.offer_id {
            return Err(ApiError::bad_request(format!(
                "network_offer_id cannot change: creative {id} belongs to offer {}",
                old.fields.offer_id
            )));
        }
        self.check_creative(&input, file, old.asset_id)?;
        let asset_id = self.attach_creative_file(&mut input, file, old.asset_id)?;
        let time_saved = if input == old.fields && asset_id == old.asset_id {
            old.time_saved
        } else {
            clock.after(old.time_saved)
        };
        let creative = Creative {
            id,
            fields: input,
            asset_id,
            time_created: old.time_created,
            time_saved,
        };
        self.creatives.items.insert(id, creative);
        Ok(())
    }

    /// The Creative object (creatives.yaml, LIVE response): the offer summary
    /// and, for a creative with a file, `resource_asset`, under `relationship`.
    pub fn creative_json(&self, c: &Creative) -> Value {
        let f = &c.fields;
        let asset = c.asset_id.and_then(|id| self.media.asset(id));
        let mut rel = Map::new();
        if let Some(summary) = self.offer_summary(f.offer_id) {
            rel.insert("offer".into(), summary);
        }
        if let Some(asset) = asset {
            rel.insert("resource_asset".into(), self.media.asset_json(asset));
        }
        json!({
            "network_offer_creative_id": c.id,
            "network_id": self.network_id,
            "network_offer_id": f.offer_id,
            "name": f.name,
            "creative_type": f.creative_type,
            "is_private": f.is_private,
            "creative_status": f.creative_status,
            "resource_url": asset.map(|a| self.media.url(a)).unwrap_or_default(),
            "html_code": f.html_code,
            "width": f.width,
            "height": f.height,
            "email_from": f.email_from,
            "email_subject": f.email_subject,
            "time_created": c.time_created,
            "time_saved": c.time_saved,
            "additional_offer_ids": f.additional_offer_ids,
            "is_apply_specific_affiliates": f.is_apply_specific_affiliates,
            "email_subject_lines": f.email_subject_lines,
            "email_from_lines": f.email_from_lines,
            "relationship": rel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ty: &str) -> Value {
        json!({
            "network_offer_id": 1001,
            "name": "Banner",
            "creative_type": ty,
            "creative_status": "active",
            "is_private": false,
            "additional_offer_ids": [],
            "is_apply_specific_affiliates": false,
            "html_code": "<b>hi</b>"
        })
    }

    fn err(b: &Value) -> String {
        parse_creative_body(Some(b), None).unwrap_err().message
    }

    #[test]
    fn required_fields_follow_live() {
        for key in [
            "network_offer_id",
            "name",
            "creative_type",
            "creative_status",
            "is_private",
            "additional_offer_ids",
            "is_apply_specific_affiliates",
        ] {
            let mut b = body("html");
            b.as_object_mut().unwrap().remove(key);
            assert_eq!(err(&b), format!("{key} is required"));
        }
    }

    #[test]
    fn conditional_fields_depend_on_the_type() {
        let mut b = body("html");
        b["html_code"] = json!(" ");
        assert_eq!(err(&b), "html_code is required for html creatives");
        b["creative_type"] = json!("link");
        assert_eq!(err(&b), "html_code is required for link creatives");
        let b = body("email");
        assert_eq!(err(&b), "email_from is required for email creatives");
        let mut b = body("html");
        b["resource_file"] = json!({"temp_url": "https://x/temp/1", "original_file_name": "a.png"});
        assert!(err(&b).starts_with("resource_file is only for image"));
        let mut b = body("image");
        b["resource_file"] = json!({"temp_url": "https://x/temp/1"});
        assert_eq!(err(&b), "resource_file.original_file_name is required");
        b["resource_file"]["original_file_name"] = json!("a.png");
        let (input, file) = parse_creative_body(Some(&b), None).unwrap();
        assert_eq!(input.creative_type, "image");
        assert_eq!(file.unwrap().temp_url, "https://x/temp/1");
        let mut b = body("archive");
        b["html_files"] = json!([{"temp_url": "x", "original_file_name": "a.html"}]);
        assert!(err(&b).contains("not supported"));
        let mut b = body("html");
        b["additional_offer_ids"] = json!([1001]);
        assert!(err(&b).contains("must not contain"));
        let mut b = body("html");
        b["creative_status"] = json!("archived");
        assert!(err(&b).starts_with("creative_status must be one of"));
    }
}
