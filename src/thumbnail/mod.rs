//! Offer thumbnails (DESIGN section 5 item 4, seed 000 "Thumbnail handling").
//!
//! Owns fetching candidate pictures within bounds, finding them in landing pages
//! (og:image, icons), making a picture into the 400x400 8-bit PNG that Everflow gets,
//! and generating a placeholder with the offer's initials when there is none.
//!
//! Not here: the temp upload and `thumbnail_file` (the Everflow client and apply),
//! caching images on disk (state), and deciding whether to re-upload (the plan).

mod crop;
mod fetch;
mod html;
mod placeholder;

pub use crop::{ImageError, SIZE, cover_crop_png};
pub use fetch::{FetchError, FetchLimits, Fetched, Fetcher};
pub use html::{find_icons, find_og_image};
pub use placeholder::{BACKGROUND, FOREGROUND, initials, placeholder_png};
