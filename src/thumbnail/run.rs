//! The thumbnails of one run: every image URL fetched and processed once however many
//! offers name it, a bounded number of fetches and of CPU-bound conversions at a time,
//! and an image begun early when it is sure to be needed.
//!
//! An apply knows, as soon as a new offer's source arrives, that the offer will need
//! a thumbnail, and most likely its `thumbnail_url`: [`Thumbnails::begin`] starts
//! fetching and processing it then, while the plan is still reading the offer's links,
//! so that the offer's create does not wait for it. Nothing here writes anywhere; an
//! image begun for an offer that is then not applied costs a download.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OnceCell, Semaphore};

use super::{
    FetchError, FetchLimits, Fetched, Fetcher, Processed, cover_crop_png, image_fingerprint,
};

/// Images begun ahead and not yet taken, at most: each holds its PNG until its offer
/// takes it, so a first apply of thousands of offers does not hold thousands of them.
const MAX_BEGUN: usize = 256;

/// Downloads at once: images and landing pages come from third-party hosts, and each
/// download in flight may hold up to `max_bytes`.
const FETCHES: usize = 16;

/// An image made into a thumbnail, or why it could not be (the part of a note after
/// its role, e.g. "`https://…/logo.jpg`: HTTP 404").
type Made = Result<Processed, String>;

/// The thumbnail maker of one run; cheap to clone (one shared maker).
#[derive(Clone)]
pub struct Thumbnails(Arc<Shared>);

struct Shared {
    fetcher: Fetcher,
    fetches: Semaphore,
    /// Decoding, resampling and encoding: CPU-bound, and each in progress holds
    /// decoded pixels, so as many at once as there are cores.
    conversions: Semaphore,
    images: Mutex<Images>,
}

#[derive(Default)]
struct Images {
    by_url: HashMap<String, Slot>,
    /// Begun and not yet taken, over all slots.
    begun: usize,
}

struct Slot {
    /// Offers that were begun for this image and have not taken it yet: the slot is
    /// kept (and the image shared) until the last one has.
    wanted: usize,
    made: Arc<OnceCell<Made>>,
}

impl Thumbnails {
    pub fn new(limits: FetchLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self(Arc::new(Shared {
            fetcher: Fetcher::new(limits),
            fetches: Semaphore::new(FETCHES),
            conversions: Semaphore::new(cores),
            images: Mutex::default(),
        }))
    }

    /// GETs `url` within the limits, as one of the bounded downloads at once.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        self.0.fetch(url).await
    }

    /// Starts making the image at `url` in the background, for an offer that will ask
    /// for it (through [`resolve`](super::resolve)). Does nothing for an empty URL or
    /// when enough images are already waiting to be taken.
    pub fn begin(&self, url: &str) {
        let url = url.trim();
        if url.is_empty() {
            return;
        }
        let made = {
            let mut images = self.0.lock();
            if images.begun >= MAX_BEGUN {
                return;
            }
            images.begun += 1;
            let slot = images
                .by_url
                .entry(url.to_owned())
                .or_insert_with(Slot::new);
            slot.wanted += 1;
            if slot.wanted > 1 {
                // Begun already for another offer.
                return;
            }
            Arc::clone(&slot.made)
        };
        let shared = Arc::clone(&self.0);
        let url = url.to_owned();
        tokio::spawn(async move {
            made.get_or_init(|| shared.make(&url)).await;
        });
    }

    /// The image at `url` made into a thumbnail: the one begun or being made for
    /// another offer, else made now.
    pub(super) async fn image(&self, url: &str) -> Made {
        let made = {
            let mut images = self.0.lock();
            let slot = images
                .by_url
                .entry(url.to_owned())
                .or_insert_with(Slot::new);
            Arc::clone(&slot.made)
        };
        let result = made.get_or_init(|| self.0.make(url)).await.clone();
        let mut images = self.0.lock();
        let images = &mut *images;
        if let Some(slot) = images.by_url.get_mut(url)
            && Arc::ptr_eq(&slot.made, &made)
        {
            if slot.wanted > 0 {
                slot.wanted -= 1;
                images.begun -= 1;
            }
            if slot.wanted == 0 {
                images.by_url.remove(url);
            }
        }
        result
    }
}

impl Slot {
    fn new() -> Self {
        Self {
            wanted: 0,
            made: Arc::new(OnceCell::new()),
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Images> {
        // The map stays consistent whatever panicked while it was held.
        self.images.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        // Never closed, so acquiring cannot fail.
        let _turn = self.fetches.acquire().await.ok();
        self.fetcher.fetch(url).await
    }

    async fn make(&self, url: &str) -> Made {
        let fetched = self.fetch(url).await.map_err(|error| error.to_string())?;
        let max_pixels = self.fetcher.limits().max_pixels;
        let served = fetched
            .content_type
            .map(|content_type| format!(" (served as {content_type})"))
            .unwrap_or_default();
        let _turn = self.conversions.acquire().await.ok();
        // Decoding and resampling take CPU time: keep them off the async workers.
        let bytes = fetched.bytes;
        let result = tokio::task::spawn_blocking(move || {
            cover_crop_png(&bytes, max_pixels).map(|png| Processed {
                png,
                fingerprint: image_fingerprint(&bytes),
            })
        })
        .await;
        match result {
            Ok(Ok(processed)) => Ok(processed),
            Ok(Err(error)) => Err(format!("`{url}`: {error}{served}")),
            Err(join) => Err(format!("`{url}`: image processing failed: {join}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A maker whose downloads fail at once: nothing listens on port 9 of loopback.
    fn refused() -> Thumbnails {
        Thumbnails::new(FetchLimits {
            allow_loopback: true,
            ..FetchLimits::default()
        })
    }

    fn begun(thumbnails: &Thumbnails) -> usize {
        thumbnails.0.lock().begun
    }

    #[tokio::test]
    async fn at_most_max_begun_images_wait_to_be_taken() {
        let thumbnails = refused();
        for n in 0..MAX_BEGUN + 10 {
            thumbnails.begin(&format!("http://127.0.0.1:9/{n}.png"));
        }
        assert_eq!(begun(&thumbnails), MAX_BEGUN);
        // Taking one makes room for one more; one past the cap was never begun, and is
        // made when asked.
        let taken = thumbnails.image("http://127.0.0.1:9/0.png").await;
        assert!(taken.is_err_and(|why| why.contains("127.0.0.1:9/0.png")));
        assert_eq!(begun(&thumbnails), MAX_BEGUN - 1);
        let late = format!("http://127.0.0.1:9/{}.png", MAX_BEGUN + 1);
        assert!(thumbnails.image(&late).await.is_err());
        assert_eq!(begun(&thumbnails), MAX_BEGUN - 1);
        assert!(!thumbnails.0.lock().by_url.contains_key(&late));
    }

    #[tokio::test]
    async fn empty_urls_are_not_begun() {
        let thumbnails = refused();
        thumbnails.begin("  ");
        assert_eq!(begun(&thumbnails), 0);
    }
}
