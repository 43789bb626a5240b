// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

// Code quoted by the documentation. It is compiled with the tests, so it stays true.

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncHttpRequest>
#include <QStateSyncSqliteStorage>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qjsonarray.h>
#include <QtCore/qtimer.h>

namespace {
bool isTokenValid(const QString &token)
{
    return token.startsWith(QLatin1String("valid:"));
}
} // namespace

void minimalServer()
{
    //! [minimal]
    auto *syncer = new QStateSyncer;
    syncer->listen(QHostAddress::Any, 5000);

    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("abc"));
    options.setInitialValue(QVariantMap{{QStringLiteral("property"), QStringLiteral("value")}});
    syncer->createState(options);
    //! [minimal]
}

void sqliteStorage()
{
    //! [sqlite]
    auto *syncer = new QStateSyncer;
    auto *storage
            = new QStateSyncSqliteStorage(QStringLiteral("/var/lib/myapp/states.sqlite"), syncer);
    storage->setDurability(QStateSyncSqliteStorage::Durability::Durable);
    if (!syncer->setStorage(storage))
        qFatal("cannot open the states: %s", qPrintable(storage->errorString()));
    // The stored states are back. Creating one again gives it its hooks; a new one starts
    // with its initial value.
    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("abc"));
    syncer->createState(options);
    syncer->listen(QHostAddress::Any, 5000);
    //! [sqlite]
}

void createState(QStateSyncer *syncer)
{
    //! [create-state]
    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("myGroupChat"));
    options.setInitialValue(QJsonObject{{QStringLiteral("chatMessages"), QJsonArray()}});
    options.setTtl(std::chrono::hours(1));
    options.setAllowConnectingClient([](const QVariantMap &clientInformation) {
        return clientInformation.value(QStringLiteral("permissions"))
                .toStringList()
                .contains(QStringLiteral("chat"));
    });
    options.setInterceptStateUpdate(
            [](const QJsonObject &updates, const QVariantMap &) -> std::optional<QJsonObject> {
                if (updates.contains(QStringLiteral("owner")))
                    return std::nullopt; // refused: the sender gets update_refused
                return updates;
            });
    options.setSelfDestruct(
            [](int numberOfClientsLeft, const QDateTime &) { return numberOfClientsLeft == 0; });
    const QString identifier = syncer->createState(options); // null if taken
    //! [create-state]
    Q_UNUSED(identifier);
}

void authorization(QStateSyncer *syncer)
{
    //! [authorization]
    QObject::connect(syncer, &QStateSyncer::authorizationRequested, syncer,
                     [](QStateSyncAuthorizationRequest *request) {
                         if (!isTokenValid(request->token())) {
                             request->reject(); // HTTP 401, no WebSocket
                             return;
                         }
                         request->accept({{QStringLiteral("permissions"),
                                           QStringList{QStringLiteral("chat")}}});
                     });
    //! [authorization]
}

void middleware(QStateSyncer *syncer)
{
    //! [middleware]
    syncer->useAuthorizationMiddleware([](QStateSyncAuthorizationRequest *request,
                                          const QStateSyncer::AuthorizationCallback &callback) {
        const QString token = request->token();
        // Answer later, as when a token service is asked over the network.
        QTimer::singleShot(0, [token, callback] {
            if (isTokenValid(token))
                callback({{QStringLiteral("email"), token.mid(6)}}, true);
            else
                callback({}, false);
        });
    });
    //! [middleware]
}

void updateHook(QStateSyncer *syncer)
{
    //! [update-hook]
    QObject::connect(syncer, &QStateSyncer::updateRequested, syncer,
                     [](QStateSyncUpdateRequest *request) {
                         QJsonObject updates = request->updates();
                         if (updates.contains(QStringLiteral("title"))
                             && updates.value(QStringLiteral("title")).toString().isEmpty()) {
                             request->reject(QStringLiteral("A title cannot be empty"));
                             return;
                         }
                         updates.insert(QStringLiteral("editedBy"), request->clientIdentifier());
                         request->setUpdates(updates);
                         request->accept();
                     });
    //! [update-hook]
}

void http(QStateSyncer *syncer)
{
    //! [http]
    QObject::connect(syncer, &QStateSyncer::httpRequested, syncer,
                     [syncer](QStateSyncHttpRequest *request) {
                         if (request->path() == QLatin1String("/healthz"))
                             request->respond(200, "ok\n");
                         else if (request->path() == QLatin1String("/clients"))
                             request->respond(200, QByteArray::number(syncer->clientCount()));
                         // anything else: 426 Upgrade Required
                     });
    //! [http]
}
