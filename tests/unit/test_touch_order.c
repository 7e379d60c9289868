/* tests/unit/test_touch_order.c — first-touch ranks (builder/image/touch_order.c) from
 * page-cache insertions as tracefs prints them (builder/image/pagetrace.c): a block's rank
 * is its earliest first touch over the runs, scaled by what each run touched; other
 * inodes and repeated touches change nothing. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "image/pagetrace.h"
#include "image/touch_order.h"
#include "unit.h"

#define KB 1024u

static void test_trace_lines_parse_with_and_without_the_order_field(void)
{
    struct pagetrace_event ev;
    CHECK(pagetrace_parse_line("  armlet-init-24616   [001] ..... 79709.225324: "
                               "mm_filemap_add_to_page_cache: dev 254:0 ino 3c8e7 "
                               "pfn=0x20d5ab ofs=12288 order=2\n", &ev) == 1);
    CHECK(ev.ino == 0x3c8e7 && ev.off == 12288 && ev.pages == 4);
    /* kernels before 6.1 print no order: one page */
    CHECK(pagetrace_parse_line("sh-1 [000] .... 5.1: mm_filemap_add_to_page_cache: dev 8:1 "
                               "ino 10 page=0000 pfn=0x1 ofs=0\n", &ev) == 1);
    CHECK(ev.ino == 0x10 && ev.off == 0 && ev.pages == 1);
    /* headers, other events, truncated lines and absurd orders are not insertions */
    CHECK(pagetrace_parse_line("# entries-in-buffer/entries-written: 5/5   #P:2\n", &ev) == 0);
    CHECK(pagetrace_parse_line("sh-1 [000] .... 5.1: mm_filemap_delete_from_page_cache: dev "
                               "8:1 ino 10 pfn=0x1 ofs=0 order=0\n", &ev) == 0);
    CHECK(pagetrace_parse_line("sh-1 [000] .... 5.1: mm_filemap_add_to_page_cache: dev 8:1 "
                               "ino\n", &ev) == 0);
    CHECK(pagetrace_parse_line("sh-1 [000] .... 5.1: mm_filemap_add_to_page_cache: dev 8:1 "
                               "ino 10 pfn=0x1 ofs=0 order=40\n", &ev) == 0);
}

static void test_blocks_rank_by_earliest_first_touch_over_runs(void)
{
    struct err e = {0};
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    const uint64_t inos[] = {100, 7, 300}, sizes[] = {512 * KB, 4 * KB, 256 * KB};
    struct touch_order *o = touch_order_new(3, inos, sizes, 128 * KB, &e);
    CHECK(o != NULL);
    if (!o)
        return;
    CHECK(touch_order_block(o) == 128 * KB);
    /* run 1: file 0's block 3, file 1, file 0's block 0 (twice), an inode not in the image */
    const struct pagetrace_event run1[] = {
        {100, 3 * 128 * KB, 1}, {7, 0, 1}, {999, 0, 1}, {100, 0, 1}, {100, page, 1}};
    touch_order_add_run(o, run1, 5);
    CHECK(touch_order_rank(o, 0, 3) == 0.0f);
    CHECK(touch_order_rank(o, 1, 0) > 0.3f && touch_order_rank(o, 1, 0) < 0.34f);   /* 1/3 */
    CHECK(touch_order_rank(o, 0, 0) > 0.66f && touch_order_rank(o, 0, 0) < 0.67f);  /* 2/3 */
    CHECK(touch_order_rank(o, 0, 1) == TOUCH_NEVER);
    CHECK(touch_order_rank(o, 2, 0) == TOUCH_NEVER);
    /* run 2 touches file 0's block 0 first, and a large folio reaching into file 2's
     * second block: the earliest rank wins, a later one changes nothing */
    const struct pagetrace_event run2[] = {{100, 0, 1}, {300, 128 * KB - page, 2}, {100, 3 * 128 * KB, 1}};
    touch_order_add_run(o, run2, 3);
    CHECK(touch_order_rank(o, 0, 0) == 0.0f);
    CHECK(touch_order_rank(o, 0, 3) == 0.0f);
    CHECK(touch_order_rank(o, 2, 0) == 0.25f && touch_order_rank(o, 2, 1) == 0.5f);   /* of 4 */
    /* out of range: never */
    CHECK(touch_order_rank(o, 0, 4) == TOUCH_NEVER && touch_order_rank(o, 3, 0) == TOUCH_NEVER);
    touch_order_free(o);
}

int main(void)
{
    RUN(test_trace_lines_parse_with_and_without_the_order_field);
    RUN(test_blocks_rank_by_earliest_first_touch_over_runs);
    return unit_done();
}
