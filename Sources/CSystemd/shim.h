// libsystemd (Debian libsystemd-dev): socket activation, sd_notify, watchdog, journal.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
