//! `DeviceHandle`: the device on its own I/O thread, with an async API.
//!
//! SQLite and fsync block for milliseconds to seconds on a cheap phone's flash; none of that may
//! run on the async executor the bindings' `suspend`/`async` calls land on. Every operation is
//! sent to one dedicated thread that owns the [`Device`], which also serialises them: two
//! submits and a listing from three callers never interleave inside a transaction.
//!
//! The replies travel on `tokio::sync::oneshot`, which needs no runtime, so any executor can
//! await them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::device::{Device, DeviceError};

type Job = Box<dyn FnOnce(&mut Device) + Send>;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("the device's I/O thread has stopped")]
    Stopped,
    #[error("an operation panicked on the I/O thread; the device is still usable")]
    Panicked,
}

pub struct DeviceHandle {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<Device>>,
}

impl DeviceHandle {
    /// Moves `device` onto its I/O thread.
    pub fn new(device: Device) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sighting-io".into())
            .spawn(move || {
                let mut device = device;
                for job in queue {
                    job(&mut device);
                }
                device
            })?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the I/O thread and awaits its result. A panic inside `f` is caught there
    /// (never unwinds into the caller or across FFI) and reported as [`HandleError::Panicked`].
    pub async fn call<T, F>(&self, f: F) -> Result<T, HandleError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Device) -> Result<T, DeviceError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |device| {
            let outcome = catch_unwind(AssertUnwindSafe(|| f(device)));
            let _ = reply.send(
                outcome
                    .map_err(|_| HandleError::Panicked)
                    .and_then(|r| r.map_err(HandleError::from)),
            );
        });
        self.jobs
            .as_ref()
            .ok_or(HandleError::Stopped)?
            .send(job)
            .map_err(|_| HandleError::Stopped)?;
        result.await.map_err(|_| HandleError::Stopped)?
    }
}

impl DeviceHandle {
    /// Lets queued operations finish, stops the I/O thread and hands the device back (to wipe
    /// it, which consumes it). Blocks until then.
    pub fn into_device(mut self) -> Result<Device, HandleError> {
        drop(self.jobs.take());
        let thread = self.thread.take().ok_or(HandleError::Stopped)?;
        thread.join().map_err(|_| HandleError::Panicked)
    }
}

impl Drop for DeviceHandle {
    /// Lets queued operations finish, then closes the device (and its database) cleanly.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
