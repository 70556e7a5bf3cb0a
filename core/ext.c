/* Cell extensions and the small ref vectors they hold. Owner shard only. */
#include "core/ext.h"

#include <errno.h>
#include <string.h>

#include "alloc/heap.h"

/* Where an arg stored in the ext's block starts: 16-byte aligned, like a message payload. */
#define ARG_OFFSET ((sizeof(casty_cell_ext) + 15) & ~(size_t)15)

static casty_cell_ext *ext_new(casty_cell *cell, size_t extra)
{
    casty_cell_ext *ext = casty__mem_calloc(1, (extra ? ARG_OFFSET : sizeof(*ext)) + extra);
    if (!ext)
        return NULL;
    ext->cell = cell;
    casty__timer_init(&ext->backoff, NULL, ext);
    cell->ext = ext;
    return ext;
}

casty_cell_ext *casty__cell_ext(casty_cell *cell)
{
    if (CASTY_LIKELY(cell->ext != NULL))
        return cell->ext;
    return ext_new(cell, 0);
}

int casty__cell_keep_arg(casty_cell *cell, const void *arg, uint32_t len)
{
    casty_cell_ext *ext = cell->ext;
    if (!ext) {
        /* The common case (an actor with an arg and nothing else): one block for both. */
        ext = ext_new(cell, len);
        if (!ext)
            return -ENOMEM;
        ext->arg = (char *)ext + ARG_OFFSET;
        ext->arg_inline = true;
    } else {
        ext->arg = casty__mem_alloc(len);
        if (!ext->arg)
            return -ENOMEM;
    }
    memcpy(ext->arg, arg, len);
    ext->arg_len = len;
    return 0;
}

void casty__cell_ext_free(casty_cell *cell)
{
    casty_cell_ext *ext = cell->ext;
    if (!ext)
        return;
    casty__mem_free(ext->children.slots);
    casty__mem_free(ext->watchers.slots);
    casty__mem_free(ext->watching.slots);
    casty__mem_free(ext->restarts);
    if (!ext->arg_inline)
        casty__mem_free(ext->arg);
    casty__mem_free(ext);
    cell->ext = NULL;
}

static uint32_t slot_of(const casty_liteset *set, const casty_cell *cell, uint32_t gen)
{
    /* Cells sit 256 bytes apart: mix the address and generation, keep the top bits. */
    uint64_t h = ((uint64_t)(uintptr_t)cell ^ ((uint64_t)gen << 40)) * 0x9E3779B97F4A7C15u;
    return (uint32_t)(h >> 32) & (set->cap - 1);
}

static casty_lite *find(const casty_liteset *set, const casty_cell *cell, uint32_t gen)
{
    if (!set->cap)
        return NULL;
    for (uint32_t i = slot_of(set, cell, gen);; i = (i + 1) & (set->cap - 1)) {
        casty_lite *s = &set->slots[i];
        if (!s->cell)
            return NULL;
        if (s->cell == cell && s->gen == gen)
            return s;
    }
}

static void insert(casty_liteset *set, casty_lite lite)
{
    uint32_t i = slot_of(set, lite.cell, lite.gen);
    while (set->slots[i].cell)
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = lite;
    set->n++;
}

static int grow(casty_liteset *set)
{
    uint32_t cap = set->cap ? set->cap * 2 : 8;
    casty_lite *slots = casty__mem_calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    casty_liteset old = *set;
    set->slots = slots;
    set->cap = cap;
    set->n = 0;
    for (uint32_t i = 0; i < old.cap; i++) {
        if (old.slots[i].cell)
            insert(set, old.slots[i]);
    }
    casty__mem_free(old.slots);
    return 0;
}

bool casty__liteset_has(const casty_liteset *set, const casty_cell *cell, uint32_t gen)
{
    return find(set, cell, gen) != NULL;
}

int casty__liteset_add(casty_liteset *set, casty_lite lite)
{
    if (find(set, lite.cell, lite.gen))
        return 1;
    if ((set->n + 1) * 2 > set->cap && grow(set) < 0)
        return -ENOMEM;
    insert(set, lite);
    return 0;
}

bool casty__liteset_remove(casty_liteset *set, const casty_cell *cell, uint32_t gen)
{
    casty_lite *hole = find(set, cell, gen);
    if (!hole)
        return false;
    uint32_t mask = set->cap - 1;
    uint32_t i = (uint32_t)(hole - set->slots);
    /* Backward shift: pull later entries of the probe run into the hole when their home allows. */
    for (uint32_t j = (i + 1) & mask; set->slots[j].cell; j = (j + 1) & mask) {
        uint32_t home = slot_of(set, set->slots[j].cell, set->slots[j].gen);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            set->slots[i] = set->slots[j];
            i = j;
        }
    }
    set->slots[i] = (casty_lite){0};
    set->n--;
    return true;
}
