/*
 * LiveGate — the entry store: entries and their publish tokens in an embedded
 * SQLite database.
 *
 * An entry is one live channel: an id such as "1_k3v9x0aa", a name, and a
 * publish token that every encoder must present. Regenerating the token makes
 * the old one fail for every new publish at once.
 *
 * Several processes may open the same database at once (a running server and
 * the command-line tool, say): a change committed by one is seen by the next
 * read of the other. An lg_store is safe to use from any thread.
 */
#ifndef LIVEGATE_STORE_H
#define LIVEGATE_STORE_H

#include "livegate/common.h"
#include "livegate/url.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lg_store lg_store;

#define LG_ENTRY_NAME_MAX 256
#define LG_SRT_PASSPHRASE_MIN 10
#define LG_SRT_PASSPHRASE_MAX 79

typedef struct lg_entry {
  size_t struct_size; /* set by the caller to sizeof(lg_entry) */
  char id[LG_ENTRY_ID_MAX + 1];
  char name[LG_ENTRY_NAME_MAX + 1];
  char token[LG_TOKEN_MAX + 1];
  int64_t token_generation; /* 1 for the first token, +1 per regeneration */
  int64_t created_at_ms;    /* Unix time, milliseconds */
  int64_t updated_at_ms;
  /* The SRT passphrase (10 to 79 printable ASCII characters, no spaces):
   * SRT callers to this entry must encrypt with it. Empty: none, and SRT
   * callers must not encrypt. Filled only if struct_size covers it. */
  int has_srt_passphrase;
  char srt_passphrase[LG_SRT_PASSPHRASE_MAX + 1];
  /* Outputs (both on for a new entry): a DVR window of the HLS output, and a
   * continuous recording of every broadcast. Filled only if struct_size
   * covers them. */
  int dvr_enabled;
  int recording_enabled;
} lg_entry;

/*
 * Opens (creating if needed) the database file at `path`; the folder must
 * exist. On success *store is a new handle for lg_store_close(). On failure
 * *store is NULL and `error` (if given) says why.
 */
LG_API lg_status lg_store_open(lg_store **store, const char *path, char *error, size_t error_size);
/* Closes a store. NULL is a no-op. */
LG_API void lg_store_close(lg_store *store);

/* Creates an entry with a fresh id and token. `name` may be NULL or "". */
LG_API lg_status lg_store_create_entry(lg_store *store, lg_entry *out, const char *name);
/* LG_E_NOT_FOUND if no entry has that id. */
LG_API lg_status lg_store_get_entry(lg_store *store, lg_entry *out, const char *entry_id);
/* A new token; the old one is refused by every later publish. */
LG_API lg_status lg_store_regenerate_token(lg_store *store, lg_entry *out, const char *entry_id);
LG_API lg_status lg_store_delete_entry(lg_store *store, const char *entry_id);

/* Calls `fn` once per entry, oldest first; `entry` is valid during the call. */
typedef void (*lg_entry_fn)(void *user, const lg_entry *entry);
LG_API lg_status lg_store_list_entries(lg_store *store, lg_entry_fn fn, void *user);

/*
 * Sets an entry's SRT passphrase, or clears it when `passphrase` is NULL. A
 * passphrase of another length than 10 to 79, or with a space or a non-ASCII
 * character, is refused with LG_E_INVALID_ARG and lg_store_last_error() says
 * why. Takes effect for the next SRT caller; `out` (may be NULL) receives
 * the updated entry.
 */
LG_API lg_status lg_store_set_srt_passphrase(lg_store *store, lg_entry *out, const char *entry_id,
                                             const char *passphrase);

/*
 * Switches an entry's DVR window and recording on or off (non-zero: on). A
 * running server applies it to the entry's next broadcast; through
 * lg_server_set_outputs() at once. `out` (may be NULL) receives the entry.
 */
LG_API lg_status lg_store_set_outputs(lg_store *store, lg_entry *out, const char *entry_id, int dvr,
                                      int recording);

/* The last error message of this store's calling thread, or "". */
LG_API const char *lg_store_last_error(lg_store *store);

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_STORE_H */
