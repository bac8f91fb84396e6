//! The Blob service REST API: endpoints and names, one HTTP client, one retry policy, one error
//! type. Nothing here knows about datasets or accounts saved locally.
//!
//! We speak the REST API directly rather than through the official SDK for three reasons: we must
//! pin `x-ms-version` to one the local emulator knows, we need exact control of which integrity
//! headers are sent (the emulator answers 500 to `x-ms-content-crc64`), and every error path must
//! be provably free of the SAS query string. The handful of operations we need (list containers,
//! create container, put block, put block list, get block list, blob properties) are small.

mod blob;
mod client;
mod endpoint;
mod error;
mod retry;

pub use blob::{BlobHeaders, BlobProperties, Committed, CommittedBlock, blob_path, md5_of};
pub use client::{BlobService, ClientOptions, ContainerItem, ContainerPage};
pub use endpoint::{Endpoint, EndpointError, validate_container_name};
pub use error::{AzureError, AzureErrorKind};
pub use retry::RetryPolicy;

/// The REST API version we send (`x-ms-version`) and sign SAS tokens with.
///
/// 2021-12-02 is old enough for the pinned emulator (Azurite 3.35) to know without
/// `--skipApiVersionCheck` and new enough for every operation we use. See
/// <https://learn.microsoft.com/rest/api/storageservices/versioning-for-the-azure-storage-services>.
pub const API_VERSION: &str = crate::sas::SAS_VERSION;

/// Most results one List Containers call returns; Azure's documented maximum for `maxresults`.
/// <https://learn.microsoft.com/rest/api/storageservices/list-containers2>
pub const MAX_LIST_RESULTS: u32 = 5000;
