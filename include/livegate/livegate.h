/*
 * LiveGate — an embeddable live-video ingest library.
 *
 * Umbrella header: includes every stable public header. Each one can also be
 * included on its own.
 */
#ifndef LIVEGATE_LIVEGATE_H
#define LIVEGATE_LIVEGATE_H

#include "livegate/common.h"
#include "livegate/failover.h"
#include "livegate/frame.h"
#include "livegate/output.h"
#include "livegate/server.h"
#include "livegate/store.h"
#include "livegate/url.h"

#endif /* LIVEGATE_LIVEGATE_H */
