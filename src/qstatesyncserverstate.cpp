// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncserverstate_p.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"

#include <algorithm>
#include <optional>

using namespace QStateSyncProtocol;

QStateSyncServerState::QStateSyncServerState(const QString &identifier,
                                             const QStateSyncStateOptions &options)
    : identifier(identifier)
    , options(options)
    , value(options.initialValue())
    , createdAt(QDateTime::currentDateTimeUtc())
{ }

QStateSyncServerState::~QStateSyncServerState()
{
    // The state may go away from inside its own timer's timeout().
    if (ttlTimer)
        ttlTimer->deleteLater();
}

void QStateSyncServerState::broadcast(QStateSyncUpdateRequest::Kind kind,
                                      const QJsonObject &changes,
                                      const QStateSyncConnection *sender,
                                      const QJsonValue &requestId) const
{
    const bool acknowledge = sender && !requestId.isUndefined() && !requestId.isNull();
    const int v2Type = kind == QStateSyncUpdateRequest::Append ? MessageType::StateAppended
                                                               : MessageType::StateUpdated;
    const Broadcast v2(v2Type, changes, version);
    const QByteArray v2Frame = textFrame(v2.message());

    const bool anyV1 = std::any_of(clients.cbegin(), clients.cend(),
                                   [](const QStateSyncConnection *c) { return !c->isV2(); });
    std::optional<Broadcast> v1;
    QByteArray v1Frame;
    if (anyV1) {
        v1.emplace(MessageType::StateUpdated, QStateSyncMerge::topLevelValues(value, changes),
                   version);
        v1Frame = textFrame(v1->message());
    }

    for (QStateSyncConnection *client : clients) {
        if (acknowledge && client == sender) {
            const Broadcast &own = client->isV2() ? v2 : *v1;
            client->send(own.message(requestId));
        } else {
            client->sendFrame(client->isV2() ? v2Frame : v1Frame);
        }
    }
}

QJsonArray QStateSyncServerState::presence() const
{
    QJsonArray entries;
    for (const QStateSyncConnection *client : clients)
        entries.append(client->presenceEntry());
    return entries;
}

void QStateSyncServerState::broadcastPresence(const char *event, const QJsonObject &entry,
                                              const QStateSyncConnection *except) const
{
    QByteArray frame;
    for (QStateSyncConnection *client : clients) {
        if (client == except || !client->isV2())
            continue;
        if (frame.isEmpty())
            frame = textFrame(encodePresenceChanged(event, entry));
        client->sendFrame(frame);
    }
}
