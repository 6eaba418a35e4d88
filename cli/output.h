/*
 * effortctl's output formats, shared by every command: aligned tables,
 * RFC 4180 CSV and the server's JSON pretty-printed.
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum output_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON };

enum col_type {
	COL_TEXT,  /* left-aligned */
	COL_INT,   /* right-aligned */
	COL_HOURS, /* right-aligned, two decimals in a table */
};

/* A column: JSON member (also the CSV header) and table heading. */
struct column {
	const char *key;
	const char *label;
	enum col_type type;
};

struct table;

int out_parse_format(const char *, enum output_format *);

/* Pure helpers. */
char *out_json_cell(json_t *, enum col_type, enum output_format);
size_t out_text_width(const char *);
char *out_json_pretty(const char *, size_t);

/* Tables, printed as aligned text or CSV. */
struct table *out_table_new(const struct column *, size_t, enum output_format);
void out_table_add(struct table *, const char *const *);
void out_table_add_json(struct table *, json_t *);
size_t out_table_rows(const struct table *);
void out_table_print(const struct table *, FILE *, const char *);
void out_table_free(struct table *);

void out_print_json(FILE *, const char *, size_t);
void out_print_json_value(FILE *, json_t *);

#endif
