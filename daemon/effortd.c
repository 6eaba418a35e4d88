/* The daemon's one shared state (effortd.h). */
#include "effortd.h"

struct effortd effortd;

struct db_pool *
effortd_read_pool(void)
{
	return effortd.report_db != NULL ? effortd.report_db : effortd.db;
}
