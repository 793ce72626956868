//! Connection-tracking helpers (FTP): expectations for related data connections.
