/*
 * Problem details responses: see ngx_http_integrations_problem.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_integrations_problem.h"


ngx_int_t
ngx_http_integrations_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, ngx_str_t *detail)
{
    return ngx_http_integrations_problem_field(r, status, type, title, NULL,
                                               detail);
}


ngx_int_t
ngx_http_integrations_problem_field(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *field,
    ngx_str_t *detail)
{
    size_t        len, tlen, dlen, flen;
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t   out;

    static ngx_str_t  ct = ngx_string("application/problem+json");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tlen = ngx_strlen(title);
    dlen = detail ? detail->len
                    + ngx_escape_json(NULL, detail->data, detail->len)
                  : 0;

    len = sizeof("{\"type\":\"urn:integrations:problem:\",\"title\":\"\","
                 "\"status\":,\"detail\":\"\"}\n") - 1
          + ngx_strlen(type) + tlen
          + ngx_escape_json(NULL, (u_char *) title, tlen)
          + NGX_INT_T_LEN + dlen;

    flen = field ? ngx_strlen(field) : 0;

    if (field) {
        len += sizeof(",\"field\":\"\"") - 1 + flen
               + ngx_escape_json(NULL, (u_char *) field, flen);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last,
                          "{\"type\":\"urn:integrations:problem:%s\","
                          "\"title\":\"", type);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) title, tlen);
    b->last = ngx_sprintf(b->last, "\",\"status\":%ui", status);

    if (field) {
        b->last = ngx_cpymem(b->last, ",\"field\":\"",
                             sizeof(",\"field\":\"") - 1);
        b->last = (u_char *) ngx_escape_json(b->last, (u_char *) field,
                                             flen);
        *b->last++ = '"';
    }

    if (detail) {
        b->last = ngx_cpymem(b->last, ",\"detail\":\"",
                             sizeof(",\"detail\":\"") - 1);
        b->last = (u_char *) ngx_escape_json(b->last, detail->data,
                                             detail->len);
        *b->last++ = '"';
    }

    *b->last++ = '}';
    *b->last++ = '\n';

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type = ct;
    r->headers_out.content_type_len = ct.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b->last - b->pos;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_integrations_retry_after(ngx_http_request_t *r, time_t seconds)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        h->hash = 0;
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.len = ngx_sprintf(h->value.data, "%T", seconds)
                   - h->value.data;

    return NGX_OK;
}


char *
ngx_http_integrations_problem_status_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t  *np;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 400 || n > 599) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a status from 400 to 599",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    *np = (ngx_uint_t) n;

    return NGX_CONF_OK;
}
