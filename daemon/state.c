/* The daemon's one shared state (include/effortd.h). */
#include "effortd.h"

struct effortd effortd;

void
effortd_drained(void)
{
	event_base_loopexit(effortd.base, NULL);
}
