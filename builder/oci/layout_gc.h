/* builder/oci/layout_gc.h — which blobs of an OCI layout are referenced (mark), and removing
 * the others (sweep). Used by layout.c only.
 *
 *     json_t *keep = NULL;
 *     char why[512];
 *     if (layout_gc_mark(blobsfd, blobs_path, index, &keep, why, sizeof why))
 *         removed = layout_gc_sweep(blobsfd, keep);      // only after the commit
 *     json_decref(keep);
 *
 * The rule: keep whatever cannot be proven unreferenced.
 *   - Every descriptor anywhere in index.json and in every referenced JSON document is
 *     followed: any object with a "digest" (layers, blobs, manifests, config, subject,
 *     and keys no spec has named yet), and schema1 "blobSum"s. Media types are not
 *     guessed: only known layer and config types are taken as leaves without reading;
 *     anything else is read, and walked when it is JSON.
 *   - Referrers are kept: a blob whose JSON has a "subject" naming a kept blob is kept,
 *     and walked, until nothing changes.
 *   - When a referenced blob that may hold references cannot be walked (missing, a
 *     symlink or FIFO, over the size cap, not JSON although its media type says
 *     manifest/index, bytes not hashing to its name), the mark is INCOMPLETE: it returns
 *     0 with the reason, and the caller removes nothing at all. Deleting with a partial
 *     picture could orphan the children of the document that could not be read.
 *   - Only sha256 blobs are ever collected; digests of other algorithms are ignored.
 */
#ifndef ARMLET_LAYOUT_GC_H
#define ARMLET_LAYOUT_GC_H
#include <stddef.h>
#include <jansson.h>

/* Marks from index (the in-memory index.json). *keep gets a new JSON object whose keys are
 * the hex names to keep (the caller json_decref()s it, also on 0). 1 when the marks are
 * complete; 0 when not, with the first reason in why ("blob sha256:... (type): missing"). */
int layout_gc_mark(int blobsfd, const char *blobs_path, const json_t *index, json_t **keep,
                   char *why, size_t whysize);
/* Remove every entry of blobsfd that is not a folder and not in keep. Failures to remove
 * are skipped. The number removed. */
size_t layout_gc_sweep(int blobsfd, const json_t *keep);

#endif
