// See avahi_core_loader.h for why libavahi-core is opened at run time.
#define _GNU_SOURCE
#include "avahi_core_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
    __typeof__(avahi_server_config_init) *server_config_init;
    __typeof__(avahi_server_config_free) *server_config_free;
    __typeof__(avahi_server_new) *server_new;
    __typeof__(avahi_server_free) *server_free;
    __typeof__(avahi_server_get_state) *server_get_state;
    __typeof__(avahi_server_errno) *server_errno;
    __typeof__(avahi_server_get_host_name) *server_get_host_name;
    __typeof__(avahi_server_set_host_name) *server_set_host_name;
    __typeof__(avahi_s_entry_group_new) *entry_group_new;
    __typeof__(avahi_s_entry_group_free) *entry_group_free;
    __typeof__(avahi_s_entry_group_commit) *entry_group_commit;
    __typeof__(avahi_s_entry_group_reset) *entry_group_reset;
    __typeof__(avahi_s_entry_group_is_empty) *entry_group_is_empty;
    __typeof__(avahi_server_add_service_strlst) *add_service_strlst;
    __typeof__(avahi_s_service_browser_new) *service_browser_new;
    __typeof__(avahi_s_service_browser_free) *service_browser_free;
    __typeof__(avahi_s_service_resolver_new) *service_resolver_new;
    __typeof__(avahi_s_service_resolver_free) *service_resolver_free;
    __typeof__(avahi_set_log_function) *set_log_function;
} core;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

#define RESOLVE(field, symbol)                                                              \
    do {                                                                                    \
        *(void **)(&core.field) = dlsym(handle, #symbol);                                   \
        if (!core.field) {                                                                  \
            snprintf(load_error, sizeof load_error, "libavahi-core.so.7 lacks %s", #symbol); \
            return;                                                                         \
        }                                                                                   \
    } while (0)

static void load_once(void) {
    void *handle = dlopen("libavahi-core.so.7", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "%s", why ? why : "dlopen failed");
        return;
    }
    RESOLVE(server_config_init, avahi_server_config_init);
    RESOLVE(server_config_free, avahi_server_config_free);
    RESOLVE(server_new, avahi_server_new);
    RESOLVE(server_free, avahi_server_free);
    RESOLVE(server_get_state, avahi_server_get_state);
    RESOLVE(server_errno, avahi_server_errno);
    RESOLVE(server_get_host_name, avahi_server_get_host_name);
    RESOLVE(server_set_host_name, avahi_server_set_host_name);
    RESOLVE(entry_group_new, avahi_s_entry_group_new);
    RESOLVE(entry_group_free, avahi_s_entry_group_free);
    RESOLVE(entry_group_commit, avahi_s_entry_group_commit);
    RESOLVE(entry_group_reset, avahi_s_entry_group_reset);
    RESOLVE(entry_group_is_empty, avahi_s_entry_group_is_empty);
    RESOLVE(add_service_strlst, avahi_server_add_service_strlst);
    RESOLVE(service_browser_new, avahi_s_service_browser_new);
    RESOLVE(service_browser_free, avahi_s_service_browser_free);
    RESOLVE(service_resolver_new, avahi_s_service_resolver_new);
    RESOLVE(service_resolver_free, avahi_s_service_resolver_free);
    RESOLVE(set_log_function, avahi_set_log_function);
    loaded = 1;
}

int pscore_load(char *error, size_t error_size) {
    pthread_once(&once, load_once);
    if (loaded) return 0;
    if (error && error_size) snprintf(error, error_size, "%s", load_error);
    return -1;
}

// The wrappers below are called only after pscore_load returned 0.
AvahiServerConfig *pscore_server_config_init(AvahiServerConfig *c) { return core.server_config_init(c); }
void pscore_server_config_free(AvahiServerConfig *c) { core.server_config_free(c); }
AvahiServer *pscore_server_new(const AvahiPoll *api, const AvahiServerConfig *sc,
                               AvahiServerCallback callback, void *userdata, int *error) {
    return core.server_new(api, sc, callback, userdata, error);
}
void pscore_server_free(AvahiServer *s) { core.server_free(s); }
AvahiServerState pscore_server_get_state(AvahiServer *s) { return core.server_get_state(s); }
int pscore_server_errno(AvahiServer *s) { return core.server_errno(s); }
const char *pscore_server_get_host_name(AvahiServer *s) { return core.server_get_host_name(s); }
int pscore_server_set_host_name(AvahiServer *s, const char *host_name) { return core.server_set_host_name(s, host_name); }
AvahiSEntryGroup *pscore_entry_group_new(AvahiServer *s, AvahiSEntryGroupCallback callback, void *userdata) {
    return core.entry_group_new(s, callback, userdata);
}
void pscore_entry_group_free(AvahiSEntryGroup *g) { core.entry_group_free(g); }
int pscore_entry_group_commit(AvahiSEntryGroup *g) { return core.entry_group_commit(g); }
void pscore_entry_group_reset(AvahiSEntryGroup *g) { core.entry_group_reset(g); }
int pscore_entry_group_is_empty(AvahiSEntryGroup *g) { return core.entry_group_is_empty(g); }
int pscore_server_add_service_strlst(AvahiServer *s, AvahiSEntryGroup *g, AvahiIfIndex interface,
                                     AvahiProtocol protocol, AvahiPublishFlags flags, const char *name,
                                     const char *type, const char *domain, const char *host,
                                     uint16_t port, AvahiStringList *strlst) {
    return core.add_service_strlst(s, g, interface, protocol, flags, name, type, domain, host, port, strlst);
}
AvahiSServiceBrowser *pscore_service_browser_new(AvahiServer *server, AvahiIfIndex interface,
                                                 AvahiProtocol protocol, const char *service_type,
                                                 const char *domain, AvahiLookupFlags flags,
                                                 AvahiSServiceBrowserCallback callback, void *userdata) {
    return core.service_browser_new(server, interface, protocol, service_type, domain, flags, callback, userdata);
}
void pscore_service_browser_free(AvahiSServiceBrowser *b) { core.service_browser_free(b); }
AvahiSServiceResolver *pscore_service_resolver_new(AvahiServer *server, AvahiIfIndex interface,
                                                   AvahiProtocol protocol, const char *name,
                                                   const char *type, const char *domain,
                                                   AvahiProtocol aprotocol, AvahiLookupFlags flags,
                                                   AvahiSServiceResolverCallback callback, void *userdata) {
    return core.service_resolver_new(server, interface, protocol, name, type, domain, aprotocol, flags, callback, userdata);
}
void pscore_service_resolver_free(AvahiSServiceResolver *r) { core.service_resolver_free(r); }
void pscore_set_log_function(AvahiLogFunction function) { core.set_log_function(function); }
