//! Rehearsal: replaying a plan on the emulator before it is shown.
