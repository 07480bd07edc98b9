// The embedded mDNS stack (libavahi-core), loaded at run time.
//
// Why not link it: libavahi-core and libavahi-client both export a function named
// avahi_entry_group_free (the core's is internal, with other arguments). Linked into
// one process, the core's own calls resolve to the client's function and abort
// (checked on Debian 12, avahi 0.8). So the core is opened with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND), which binds its internal calls to itself, and
// reached only through these wrappers (prefix pscore_).
#ifndef AVAHI_CORE_LOADER_H
#define AVAHI_CORE_LOADER_H

#include <stddef.h>
#include <avahi-core/core.h>
#include <avahi-core/lookup.h>
#include <avahi-core/publish.h>
#include <avahi-core/log.h>

/// Opens libavahi-core.so.7 once (thread-safe). Returns 0, or -1 with a message in
/// `error` (for example, the library is not installed).
int pscore_load(char *error, size_t error_size);

AvahiServerConfig *pscore_server_config_init(AvahiServerConfig *c);
void pscore_server_config_free(AvahiServerConfig *c);
AvahiServer *pscore_server_new(const AvahiPoll *api, const AvahiServerConfig *sc,
                               AvahiServerCallback callback, void *userdata, int *error);
void pscore_server_free(AvahiServer *s);
AvahiServerState pscore_server_get_state(AvahiServer *s);
int pscore_server_errno(AvahiServer *s);
const char *pscore_server_get_host_name(AvahiServer *s);
int pscore_server_set_host_name(AvahiServer *s, const char *host_name);

AvahiSEntryGroup *pscore_entry_group_new(AvahiServer *s, AvahiSEntryGroupCallback callback, void *userdata);
void pscore_entry_group_free(AvahiSEntryGroup *g);
int pscore_entry_group_commit(AvahiSEntryGroup *g);
void pscore_entry_group_reset(AvahiSEntryGroup *g);
int pscore_entry_group_is_empty(AvahiSEntryGroup *g);
int pscore_server_add_service_strlst(AvahiServer *s, AvahiSEntryGroup *g, AvahiIfIndex interface,
                                     AvahiProtocol protocol, AvahiPublishFlags flags, const char *name,
                                     const char *type, const char *domain, const char *host,
                                     uint16_t port, AvahiStringList *strlst);

AvahiSServiceBrowser *pscore_service_browser_new(AvahiServer *server, AvahiIfIndex interface,
                                                 AvahiProtocol protocol, const char *service_type,
                                                 const char *domain, AvahiLookupFlags flags,
                                                 AvahiSServiceBrowserCallback callback, void *userdata);
void pscore_service_browser_free(AvahiSServiceBrowser *b);
AvahiSServiceResolver *pscore_service_resolver_new(AvahiServer *server, AvahiIfIndex interface,
                                                   AvahiProtocol protocol, const char *name,
                                                   const char *type, const char *domain,
                                                   AvahiProtocol aprotocol, AvahiLookupFlags flags,
                                                   AvahiSServiceResolverCallback callback, void *userdata);
void pscore_service_resolver_free(AvahiSServiceResolver *r);

void pscore_set_log_function(AvahiLogFunction function);

#endif
