//! One report's upload over tus 1.0.0: what the server supports (OPTIONS, once), where the
//! upload stands (a kept URL and HEAD, or a new POST), the PATCH loop, and the receipt.
//!
//! tus 1.0.0, *Core Protocol*: "The Client SHOULD send all subsequent PATCH requests after the
//! HEAD [...] If the Server is not able to find the resource, it SHOULD respond with 404 Not
//! Found or 410 Gone [...] Otherwise [...] the Server MUST include the Upload-Offset header".

use super::body::Sent;
use super::outcome::{bounded_text, header_u64, Outcome};
use super::run::{Progress, Run};
use super::{SyncError, Syncer, TUS};
use crate::handle::DeviceHandle;
use crate::queue::{AttemptError, PendingUpload, State};
use crate::wire::{Receipt, UploadMetadata};

/// What `OPTIONS /v1/uploads` said, asked once per [`Syncer`].
#[derive(Debug, Clone, Default)]
pub(super) struct ServerCaps {
    creation_with_upload: bool,
    /// The `Upload-Checksum` algorithm to use, if the server offers one we have.
    checksum: Option<&'static str>,
    max_size: Option<u64>,
}

enum Created {
    /// The upload URL and the server's offset (non-zero when the POST carried the body).
    New(String, u64),
    AlreadyDelivered,
    Failed(Outcome),
}

/// Where an upload goes on from, or how the attempt ended before any PATCH.
enum Start {
    At(String, u64),
    Done(Outcome),
}

impl Syncer {
    async fn caps(&self, run: &Run<'_>) -> Result<ServerCaps, Outcome> {
        if let Some(caps) = self.caps.get() {
            return Ok(caps.clone());
        }
        let request = self
            .client
            .request(reqwest::Method::OPTIONS, self.endpoint("/v1/uploads"))
            .send();
        let response = match run.bounded(request).await {
            None => return Err(Outcome::Paused),
            Some(Err(e)) => return Err(Outcome::network(&e)),
            Some(Ok(r)) => r,
        };
        if response.status().is_server_error() {
            return Err(Outcome::refusal(response).await);
        }
        // A server without OPTIONS still speaks core tus + creation (which we need anyway).
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        let extensions = header("tus-extension");
        let has = |ext: &str| extensions.split(',').any(|e| e.trim() == ext);
        let algorithms = header("tus-checksum-algorithm");
        let offers = |alg: &str| algorithms.split(',').any(|a| a.trim() == alg);
        let caps = ServerCaps {
            creation_with_upload: has("creation-with-upload"),
            checksum: if !has("checksum") || !self.config.checksums {
                None
            } else if offers("sha256") {
                Some("sha256")
            } else if offers("sha1") {
                Some("sha1")
            } else {
                None
            },
            max_size: header_u64(&response, "tus-max-size"),
        };
        let _ = self.caps.set(caps.clone());
        Ok(caps)
    }

    /// Uploads one report from wherever it stands and fetches its receipt.
    pub(super) async fn upload(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: &PendingUpload,
        metadata: UploadMetadata,
    ) -> Result<Outcome, SyncError> {
        let caps = match self.caps(run).await {
            Ok(caps) => caps,
            Err(outcome) => return Ok(outcome),
        };
        if caps.max_size.is_some_and(|max| item.bytes > max) {
            return Ok(Outcome::Rejected(format!(
                "the report ({} bytes) is larger than the server accepts",
                item.bytes
            )));
        }
        let progress = Progress {
            syncer: self,
            id: item.id,
            total: item.bytes,
        };
        let (url, mut offset) = match self.start(device, run, item, &caps, metadata).await? {
            Start::At(url, offset) => (url, offset),
            Start::Done(outcome) => return Ok(outcome),
        };
        progress.report(offset);
        let id = item.id;
        while offset < item.bytes {
            let allowed = run.allowance();
            if run.spent() || allowed == 0 {
                return Ok(Outcome::Paused);
            }
            let len = (self.config.chunk_size as u64)
                .min(item.bytes - offset)
                .min(allowed);
            let from = offset;
            let u = url.clone();
            let chunk = device
                .call(move |d| d.next_chunk(id, Some(&u), from, len))
                .await?;
            let request = self
                .client
                .patch(&url)
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", from.to_string());
            let response = match self.send_body(run, request, chunk, caps.checksum).await {
                Sent::Response(r) => r,
                Sent::Failed(outcome) => return Ok(outcome),
            };
            offset = match response.status().as_u16() {
                204 => header_u64(&response, "upload-offset").unwrap_or(from + len),
                // 409: another attempt moved the offset; 460: a chunk was damaged on the way.
                409 | 460 => match self.head(run, &url).await {
                    Ok(Some(server_offset)) => server_offset,
                    Ok(None) => return Ok(Outcome::protocol("the server lost the upload")),
                    Err(outcome) => return Ok(outcome),
                },
                _ => return Ok(Outcome::refusal(response).await),
            };
            if offset > item.bytes {
                return Ok(Outcome::past_the_end(offset));
            }
            progress.report(offset);
        }
        Ok(self.receipt(run, item).await)
    }

    /// Where the upload goes on from: the kept URL if the server still has it (HEAD), else a
    /// new upload (POST). An upload URL kept from another origin (the intake moved, or a
    /// server lied) is dropped: the report starts a new upload here.
    async fn start(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: &PendingUpload,
        caps: &ServerCaps,
        metadata: UploadMetadata,
    ) -> Result<Start, SyncError> {
        let id = item.id;
        if let Some(url) = item.upload_url.as_deref().and_then(|u| self.absolute(u)) {
            match self.head(run, &url).await {
                Ok(Some(offset)) if offset > item.bytes => {
                    return Ok(Start::Done(Outcome::past_the_end(offset)))
                }
                Ok(Some(offset)) => return Ok(Start::At(url, offset)),
                // 404/410: the server lost or expired it; a new upload for the same report.
                Ok(None) => device.call(move |d| d.save_upload(id, None, 0)).await?,
                Err(outcome) => return Ok(Start::Done(outcome)),
            }
        }
        Ok(
            match self.create(device, run, item, caps, metadata).await? {
                Created::New(_, offset) if offset > item.bytes => {
                    Start::Done(Outcome::past_the_end(offset))
                }
                Created::New(url, offset) => {
                    let u = url.clone();
                    device
                        .call(move |d| d.save_upload(id, Some(&u), offset))
                        .await?;
                    Start::At(url, offset)
                }
                Created::AlreadyDelivered => Start::Done(self.receipt(run, item).await),
                Created::Failed(outcome) => Start::Done(outcome),
            },
        )
    }

    async fn create(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: &PendingUpload,
        caps: &ServerCaps,
        metadata: UploadMetadata,
    ) -> Result<Created, SyncError> {
        let request = self
            .client
            .post(self.endpoint("/v1/uploads"))
            .header("Upload-Length", item.bytes.to_string())
            .header("Upload-Metadata", metadata.to_string());
        // creation-with-upload: a report that fits in one chunk goes with the POST (one round
        // trip fewer on a slow link), but only on its first try: after a cut or a failure the
        // server may hold part of it already, and a bare POST of the same report id gets that
        // upload back from our server (tus servers without that make a new one).
        let first_try = item.state == State::Sealed && item.attempts == 0;
        let small = caps.creation_with_upload
            && first_try
            && item.bytes <= self.config.chunk_size as u64
            && item.bytes <= run.allowance();
        let sent = if small {
            let (id, bytes) = (item.id, item.bytes);
            let body = device
                .call(move |d| d.next_chunk(id, None, 0, bytes))
                .await?;
            let request = request.header("Content-Type", "application/offset+octet-stream");
            self.send_body(run, request, body, caps.checksum).await
        } else {
            match run
                .bounded(request.header("Tus-Resumable", TUS).send())
                .await
            {
                None => Sent::Failed(Outcome::Paused),
                Some(Err(e)) => Sent::Failed(Outcome::network(&e)),
                Some(Ok(r)) => Sent::Response(r),
            }
        };
        let response = match sent {
            Sent::Response(r) => r,
            Sent::Failed(outcome) => return Ok(Created::Failed(outcome)),
        };
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(match (response.status().as_u16(), location) {
            (200, _) => Created::AlreadyDelivered,
            (201, Some(location)) => match self.absolute(&location) {
                Some(url) => Created::New(url, header_u64(&response, "upload-offset").unwrap_or(0)),
                None => Created::Failed(Outcome::protocol(
                    "the upload URL points away from the intake server",
                )),
            },
            _ => Created::Failed(Outcome::refusal(response).await),
        })
    }

    /// The server's offset, or `None` when the upload is gone (404/410).
    async fn head(&self, run: &Run<'_>, url: &str) -> Result<Option<u64>, Outcome> {
        let request = self.client.head(url).header("Tus-Resumable", TUS).send();
        let r = match run.bounded(request).await {
            None => return Err(Outcome::Paused),
            Some(Err(e)) => return Err(Outcome::network(&e)),
            Some(Ok(r)) => r,
        };
        match r.status().as_u16() {
            200 | 204 => header_u64(&r, "upload-offset")
                .map(Some)
                .ok_or_else(|| Outcome::protocol("HEAD without Upload-Offset")),
            404 | 410 => Ok(None),
            _ => Err(Outcome::refusal(r).await),
        }
    }

    /// Fetches and verifies the receipt. No receipt endpoint (a third-party tus server): the
    /// upload happened but nobody vouches for it. A forged receipt keeps the report queued.
    async fn receipt(&self, run: &Run<'_>, item: &PendingUpload) -> Outcome {
        let url = self.endpoint(&format!("/v1/reports/{}/receipt", item.id));
        let response = match run.bounded(self.client.get(url).send()).await {
            None => return Outcome::Paused,
            Some(Err(e)) => return Outcome::network(&e),
            Some(Ok(r)) => r,
        };
        if response.status().as_u16() == 404 {
            return Outcome::Unconfirmed;
        }
        if !response.status().is_success() {
            return Outcome::refusal(response).await;
        }
        let Some(text) = bounded_text(response).await else {
            return Outcome::protocol("the receipt could not be read");
        };
        let Ok(receipt) = serde_json::from_str::<Receipt>(&text) else {
            return Outcome::protocol("the server's receipt is not a receipt");
        };
        match receipt.verify(item.id, &item.ciphertext_sha256, &self.config.server_key) {
            Ok(()) => Outcome::Delivered(text),
            Err(e) => Outcome::retry(
                AttemptError::ReceiptRefused,
                format!("receipt refused: {e}"),
            ),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.config.intake.trim_end_matches('/'))
    }

    /// A `Location` the server sent, as a URL on the configured origin (scheme, host and
    /// port); `None` when it points anywhere else.
    fn absolute(&self, location: &str) -> Option<String> {
        let url = self.intake.join(location).ok()?;
        (url.origin() == self.intake.origin()).then(|| url.to_string())
    }
}
