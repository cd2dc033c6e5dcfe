//! Only the developer can drive our local servers: every server refuses a
//! `Host` it was not given (DNS rebinding), state changes from pages of
//! other origins and bodies that are not JSON, and cuts slow clients within
//! its time limits; a hostile page in Chromium can neither read nor change
//! anything.

mod support;

#[path = "security/browser.rs"]
mod browser;
#[path = "security/cross_site.rs"]
mod cross_site;
#[path = "security/hosts.rs"]
mod hosts;
#[path = "security/slow_clients.rs"]
mod slow_clients;
