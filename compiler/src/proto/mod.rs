//! Protocol header templates and meta/ct/… key tables.
