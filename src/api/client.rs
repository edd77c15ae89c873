//! The HTTP implementation of [`super::Api`].
