//! `verify --remote`: placeholder replaced below.
