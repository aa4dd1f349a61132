/*
 * Secret files: see ngx_http_integrations_secret.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/crypto.h>

#include "ngx_http_integrations_secret.h"


static void ngx_http_integrations_secret_cleanse(void *data);


typedef struct {
    u_char  *data;
    size_t   len;
} ngx_http_integrations_secret_cleanup_t;


ngx_int_t
ngx_http_integrations_secret_read(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_str_t *path, ngx_str_t *secret)
{
    u_char                                  *buf;
    size_t                                   len;
    ssize_t                                  n;
    ngx_fd_t                                 fd;
    ngx_str_t                                name;
    ngx_file_info_t                          fi;
    ngx_pool_cleanup_t                      *cln;
    ngx_http_integrations_secret_cleanup_t  *sc;

    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V \"%s\" cannot be opened", directive, name.data);
        return NGX_ERROR;
    }

    buf = NULL;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V \"%s\": " ngx_fd_info_n " failed",
                           directive, name.data);
        goto failed;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%s\" is not a regular file",
                           directive, name.data);
        goto failed;
    }

    len = (size_t) ngx_file_size(&fi);

    if (len > NGX_HTTP_INTEGRATIONS_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%s\" is too large", directive, name.data);
        goto failed;
    }

    if (ngx_file_access(&fi) & 0007) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "%V \"%s\" is accessible by others, "
                           "make it readable by its owner only",
                           directive, name.data);
    }

    buf = ngx_pnalloc(cf->pool, len + 1);
    if (buf == NULL) {
        goto failed;
    }

    cln = ngx_pool_cleanup_add(cf->pool,
                               sizeof(ngx_http_integrations_secret_cleanup_t));
    if (cln == NULL) {
        goto failed;
    }

    sc = cln->data;
    sc->data = buf;
    sc->len = len + 1;
    cln->handler = ngx_http_integrations_secret_cleanse;

    n = ngx_read_fd(fd, buf, len);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V \"%s\": " ngx_read_fd_n " failed",
                           directive, name.data);
        goto failed;
    }

    /* a key pasted with a final newline is the same key */

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%s\" is empty", directive, name.data);
        goto failed;
    }

    buf[n] = '\0';

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", name.data);
    }

    secret->data = buf;
    secret->len = n;

    return NGX_OK;

failed:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", name.data);
    }

    return NGX_ERROR;
}


static void
ngx_http_integrations_secret_cleanse(void *data)
{
    ngx_http_integrations_secret_cleanup_t  *sc = data;

    OPENSSL_cleanse(sc->data, sc->len);
}
