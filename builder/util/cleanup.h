/* builder/util/cleanup.h — scope-bound cleanup for heap memory, fds, FILEs and library handles.
 *
 *     cleanup_free char *buf = NULL;        // free(buf) at scope exit
 *     cleanup_close int fd = -1;            // close(fd) if >= 0
 *     cleanup_json json_t *doc = NULL;      // json_decref
 *
 * Pointers start at NULL and fds at -1. Hand ownership on with steal_pointer(&p) /
 * steal_fd(&fd), which return the value and reset the variable so nothing is freed twice.
 */
#ifndef ARMLET_CLEANUP_H
#define ARMLET_CLEANUP_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <archive.h>
#include <jansson.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(const int *fd) { if (*fd >= 0) close(*fd); }
static inline void cleanup_filep(FILE **f) { if (*f) fclose(*f); }
static inline void cleanup_archive_writep(struct archive **a) { if (*a) archive_write_free(*a); }
static inline void cleanup_archive_readp(struct archive **a) { if (*a) archive_read_free(*a); }
static inline void cleanup_jsonp(json_t **j) { if (*j) json_decref(*j); }

#define cleanup_free          __attribute__((cleanup(cleanup_freep)))
#define cleanup_close         __attribute__((cleanup(cleanup_closep)))
#define cleanup_file          __attribute__((cleanup(cleanup_filep)))
#define cleanup_archive_write __attribute__((cleanup(cleanup_archive_writep)))
#define cleanup_archive_read  __attribute__((cleanup(cleanup_archive_readp)))
#define cleanup_json          __attribute__((cleanup(cleanup_jsonp)))

static inline void *steal_pointer(void *pp) { void **p = pp; void *v = *p; *p = NULL; return v; }
static inline int steal_fd(int *fd) { int v = *fd; *fd = -1; return v; }

#endif
