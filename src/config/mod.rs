//! A project's `config.json`, resolved once into a validated configuration.
