/*
 * The context API a behaviour uses: reply, forward, sender, self, stop.
 * Inside a behaviour or hook only (ctx is the running shard's own context).
 */
#include <errno.h>

#include "core/assert.h"
#include "core/send.h"
#include "core/system.h"

/* Send a reply (payload or error status) to the current message's asker or sender. */
static int reply(casty_ctx *ctx, int32_t status, const void *data, size_t len)
{
    casty_shard *sh = ctx->shard;
    casty_ref to = ctx->env->sender;
    casty_ref self = casty__cell_ref(sh->sys, ctx->cell);
    if (casty_ref_is_null(to)) {
        casty__dead_letter_info(sh->sys, sh, NULL, &self, CASTY_TYPE_REPLY, status, data, len,
                                CASTY_DEAD_NO_SENDER);
        return -ENOENT;
    }
    casty_send s = {.type = CASTY_TYPE_REPLY,
                    .status = status,
                    .kind = CASTY_ENV_USER,
                    .data = data,
                    .len = len,
                    .sender = &self};
    int rc = casty__send_any(&to, &s);
    if (rc == 0)
        ctx->replied = true;
    return rc;
}

int casty_reply_raw(casty_ctx *ctx, const void *data, size_t len)
{
    if (!ctx || !ctx->cell || !ctx->env || (len && !data))
        return -EINVAL;
    return reply(ctx, 0, data, len);
}

int casty_reply_error(casty_ctx *ctx, int err)
{
    if (!ctx || !ctx->cell || !ctx->env || err >= 0)
        return -EINVAL;
    return reply(ctx, err, NULL, 0);
}

int casty_forward_raw(casty_ctx *ctx, casty_ref to)
{
    if (!ctx || !ctx->cell || !ctx->env)
        return -EINVAL;
    const casty_env *env = ctx->env;
    casty_send s = {.type = env->msg.type,
                    .status = env->msg.status,
                    .flags = env->msg.flags,
                    .kind = CASTY_ENV_USER,
                    .data = env->msg.data,
                    .len = env->msg.len,
                    .sender = &env->sender};
    int rc = casty__send_any(&to, &s);
    /* The ask travels on: whoever handles it now answers the original asker. */
    if (rc == 0 && (env->msg.flags & CASTY_MSG_ASK))
        ctx->replied = true;
    return rc;
}

casty_ref casty_sender(const casty_ctx *ctx)
{
    if (!ctx || !ctx->env)
        return CASTY_REF_NULL;
    return ctx->env->sender;
}

casty_ref casty_self(const casty_ctx *ctx)
{
    if (!ctx || !ctx->cell)
        return CASTY_REF_NULL;
    return casty__cell_ref(ctx->shard->sys, ctx->cell);
}

casty_system *casty_ctx_system(const casty_ctx *ctx)
{
    return ctx ? ctx->shard->sys : NULL;
}

uint32_t casty_ctx_shard(const casty_ctx *ctx)
{
    return ctx ? ctx->shard->id : 0;
}

void casty_stop_self(casty_ctx *ctx)
{
    if (ctx && ctx->cell)
        ctx->cell->flags |= CASTY_CELL_STOPPING;
}
