//! A case photo, fetched when the reporter opens the case (`GET /v1/bulletins/photos/…`, format
//! in [`crate::wire::bulletin::photo`]): the list itself carries only each photo's digest and
//! size, so a refresh costs kilobytes, not a photo per case around the phone.
//!
//! The request names one photo of the published feed, so it tells the intake which case was
//! opened (never the reporter's place, nor anything of theirs). The photo is read at most to the
//! size its signed tile gives, checked against the signed digest, and only then kept, encrypted
//! like the tiles; a photo already kept is not fetched again.

use time::OffsetDateTime;

use super::outcome::{bounded_body, network_failure};
use super::Syncer;
use crate::handle::{DeviceHandle, HandleError};
use crate::queue::{AttemptError, AttemptFailure};
use crate::wire::bulletin::BulletinError;

#[derive(Debug, thiserror::Error)]
pub enum CasePhotoError {
    /// The case is not in the list held (closed, expired, never fetched), or has no such photo.
    #[error("case {case} has no photo {photo} in the list held on this phone")]
    NotHeld { case: String, photo: usize },
    #[error("no bulletin address can be made from the intake URL {0:?}")]
    Url(String),
    #[error("{}", .0.detail)]
    Network(AttemptFailure),
    #[error("the intake server answered HTTP {0} for the case photo")]
    Status(u16),
    /// Not the photo the signed list names, or longer: refused, nothing kept.
    #[error("the case photo was refused and not kept: {0}")]
    Refused(#[from] BulletinError),
    #[error(transparent)]
    Device(#[from] HandleError),
}

impl Syncer {
    /// Photo `n` (from 0) of `case_number`: from the phone's encrypted copy, else fetched,
    /// verified against the held feed's signed digest and size, and kept.
    pub async fn case_photo(
        &self,
        device: &DeviceHandle,
        case_number: &str,
        n: usize,
    ) -> Result<Vec<u8>, CasePhotoError> {
        let number = case_number.to_string();
        let photo = device
            .call(move |d| d.case_photo_ref(OffsetDateTime::now_utc(), &number, n))
            .await?
            .ok_or_else(|| CasePhotoError::NotHeld {
                case: case_number.chars().take(40).collect(),
                photo: n,
            })?;
        let signed = photo.clone();
        if let Some(jpeg) = device.call(move |d| d.cached_case_photo(&signed)).await? {
            return Ok(jpeg);
        }
        let url = self
            .intake
            .join(&format!("v1/bulletins/{}", photo.file_name()))
            .map_err(|_| CasePhotoError::Url(self.intake.to_string()))?;
        let network = |e: reqwest::Error| CasePhotoError::Network(network_failure(&e));
        let fetch = async {
            let response = self.client.get(url).send().await.map_err(network)?;
            if !response.status().is_success() {
                return Err(CasePhotoError::Status(response.status().as_u16()));
            }
            // Read no further than the signed size: past it, the photo is refused unread.
            bounded_body(response, photo.bytes as usize)
                .await
                .map_err(network)?
                .ok_or(CasePhotoError::Refused(BulletinError::PhotoTooLarge {
                    signed: photo.bytes,
                    got: photo.bytes + 1,
                }))
        };
        let jpeg = tokio::time::timeout(self.config.bulletin_timeout, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(CasePhotoError::Network(AttemptFailure::new(
                    AttemptError::Network,
                    format!(
                        "the case photo took over {} s",
                        self.config.bulletin_timeout.as_secs()
                    ),
                )))
            })?;
        photo.open(&jpeg)?;
        let (signed, kept) = (photo.clone(), jpeg.clone());
        device
            .call(move |d| d.keep_case_photo(&signed, &kept))
            .await?;
        Ok(jpeg)
    }
}
