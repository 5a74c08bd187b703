//! The Advanced Authentication REST client (`/api/v1/...`).
