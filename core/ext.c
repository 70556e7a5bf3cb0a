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
    casty__mem_free(ext->children.v);
    casty__mem_free(ext->watchers.v);
    casty__mem_free(ext->watching.v);
    casty__mem_free(ext->restarts);
    if (!ext->arg_inline)
        casty__mem_free(ext->arg);
    casty__mem_free(ext);
    cell->ext = NULL;
}

bool casty__litevec_has(const casty_litevec *vec, const casty_cell *cell, uint32_t gen)
{
    for (uint32_t i = 0; i < vec->n; i++) {
        if (vec->v[i].cell == cell && vec->v[i].gen == gen)
            return true;
    }
    return false;
}

int casty__litevec_add(casty_litevec *vec, casty_lite lite)
{
    if (casty__litevec_has(vec, lite.cell, lite.gen))
        return 1;
    if (vec->n == vec->cap) {
        uint32_t cap = vec->cap ? vec->cap * 2 : 4;
        casty_lite *v = casty__mem_realloc(vec->v, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = lite;
    return 0;
}

bool casty__litevec_remove(casty_litevec *vec, const casty_cell *cell, uint32_t gen)
{
    for (uint32_t i = 0; i < vec->n; i++) {
        if (vec->v[i].cell == cell && vec->v[i].gen == gen) {
            vec->v[i] = vec->v[--vec->n]; /* order does not matter */
            return true;
        }
    }
    return false;
}
