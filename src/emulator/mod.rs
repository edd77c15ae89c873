//! The emulated Cloudflare account: one rules core, served in process and over HTTP.
