// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncer.h"
#include "qstatesyncauthorizationrequest.h"
#include "qstatesynchttprequest.h"
#include "qstatesyncjoinrequest.h"
#include "qstatesyncupdaterequest.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"

#include <QtCore/qfile.h>
#include <QtNetwork/qsslkey.h>

/*!
    \class QStateSyncer
    \inmodule QStateSync
    \brief The QStateSyncer class is a WebSocket server that holds named states and keeps
    every client joined to a state in sync with it.

    A QStateSyncer listens on an address and port (ws, or wss after
    setCertificateFiles()), holds any number of states created with createState(), and
    speaks the wire protocol of the JavaScript \c server-state-sync (v1) as well as
    QStateSync's extensions (v2): a client written for the original connects unchanged.

    \snippet snippets/server.cpp minimal

    \section1 Applying a change

    A client joined to a state sends updates (JSON objects merged into the state) and
    appends (items added to arrays, atomically). The state applies them one at a time, in
    the order they arrived: the state's interceptor runs, then the updateRequested() hook,
    then the change is merged, the state's version goes up by one, and the change is sent
    to every joined client, the sender included. The sender's copy carries its request id:
    that echo is the acknowledgement. A refused change is answered with an error code.

    \section1 Hooks

    Authorization, joins and updates each have a hook: a signal carrying a request object
    that the handler accepts, rejects, modifies (updates) or answers later. Handlers work
    from C++ slots, lambdas and QML alike; see QStateSyncRequest. The state options carry
    the original's callbacks too (allowConnectingClient, interceptStateUpdate,
    selfDestruct), see QStateSyncStateOptions.

    \section1 Limits

    A server open to the network bounds what each peer can make it hold or do. Each limit
    is a property, with a default a production server can live with; going over one is
    answered with an error code (or an HTTP status, or a WebSocket close code when the
    peer broke the protocol) and logged, and never costs unbounded memory.

    \table
    \header \li Property \li Default \li Going over it
    \row \li maxMessageSize \li 1 MiB \li the WebSocket is closed with code 1009
    \row \li maxNestingDepth \li 64 \li \c nesting_too_deep; nothing is stored
    \row \li handshakeTimeout \li 10 s \li the connection is closed (HTTP 503 if
        authorization did not answer)
    \row \li maxPendingHandshakes \li 1000 \li HTTP 503 with \c Retry-After
    \row \li maxClients \li 10000 \li HTTP 503 with \c Retry-After
    \row \li maxClientsPerState \li 1000 \li \c state_full
    \row \li updateRate, updateBurst \li 100 a second, 200 at once \li \c rate_limited;
        not applied
    \row \li maxStateSize \li 16 MiB \li \c state_too_large; not applied
    \row \li maxPendingOutput \li 4 MiB \li the client's updates are conflated until it
        catches up
    \row \li heartbeatInterval \li 30 s \li a silent connection is dropped
    \endtable

    Limits changed while the server runs apply from then on: to the next message, join,
    change or connection.

    \section1 Privacy

    Unless revealStateExistence is set, a client learns from the answer to a join only
    that it cannot join the state, not whether the state exists.
*/

/*!
    \typealias QStateSyncer::AuthorizationCallback

    \c{std::function<void(const QVariantMap &clientInformation, bool success)>}: the
    callback an authorization middleware calls, now or later, with its verdict.
*/

/*!
    \typealias QStateSyncer::AuthorizationMiddleware

    \c{std::function<void(QStateSyncAuthorizationRequest *request, const
    AuthorizationCallback &callback)>}: an authorization function in the manner of the
    original's \c useAuthorizationMiddleware().
*/

/*!
    \property QStateSyncer::listening
    \brief whether the server is listening for connections.
*/

/*!
    \property QStateSyncer::serverPort
    \brief the port the server listens on; with port 0 given to listen(), the port the
    system chose. Zero when not listening.
*/

/*!
    \property QStateSyncer::serverAddress
    \brief the address the server listens on, as text.
*/

/*!
    \property QStateSyncer::secure
    \brief whether the server speaks TLS (wss).
    \sa setCertificateFiles(), setSslConfiguration()
*/

/*!
    \property QStateSyncer::stateIdentifiers
    \brief the identifiers of every state the server holds.
*/

/*!
    \property QStateSyncer::clientCount
    \brief the number of open client connections, joined to a state or not.
*/

/*!
    \fn void QStateSyncer::authorizationRequested(QStateSyncAuthorizationRequest *request)

    This signal is emitted for every connecting client that names a client identifier,
    before the WebSocket opens. Answer \a request to let the client in or refuse it with
    HTTP 401; when no handler answers or defers it, the client is let in.
*/

/*!
    \fn void QStateSyncer::joinRequested(QStateSyncJoinRequest *request)

    This signal is emitted when a client asks to join an existing state that its
    allowConnectingClient filter let through. Answer \a request to decide; unanswered, the
    join is accepted.
*/

/*!
    \fn void QStateSyncer::updateRequested(QStateSyncUpdateRequest *request)

    This signal is emitted for every change to a state, from clients and from
    updateStateValue() and appendToState(), after the state's interceptor. Answer
    \a request to decide, modify it before accepting, or defer it: the state's later
    changes wait until it is answered.
*/

/*!
    \fn void QStateSyncer::httpRequested(QStateSyncHttpRequest *request)

    This signal is emitted for every plain HTTP request (GET or HEAD, without a WebSocket
    upgrade) that reaches the server's port, so health checks and metrics can be served
    there. Call \l{QStateSyncHttpRequest::}{respond()} on \a request; unanswered, the
    request gets \c{426 Upgrade Required}.
*/

/*!
    \fn void QStateSyncer::stateCreated(const QString &stateIdentifier)

    This signal is emitted when createState() created the state \a stateIdentifier.
*/

/*!
    \fn void QStateSyncer::stateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason)

    This signal is emitted when the state \a stateIdentifier went away, for \a reason.
    Its joined clients have been told with a STATE_REMOVED message.
*/

/*!
    \fn void QStateSyncer::clientJoined(const QString &stateIdentifier, const QString &clientIdentifier, const QVariantMap &clientInformation)

    This signal is emitted when the client \a clientIdentifier, with \a clientInformation,
    joined the state \a stateIdentifier and received its value.
*/

/*!
    \fn void QStateSyncer::clientLeft(const QString &stateIdentifier, const QString &clientIdentifier, const QVariantMap &clientInformation)

    This signal is emitted when the client \a clientIdentifier, with \a clientInformation,
    is no longer joined to \a stateIdentifier: it disconnected, left, joined another
    state, or the state was removed.
*/

/*!
    \fn void QStateSyncer::stateUpdated(const QString &stateIdentifier, const QJsonObject &updates, qint64 version)

    This signal is emitted after a change was applied to \a stateIdentifier and sent to
    its clients; the state is now at \a version. For an update, \a updates is the merge
    patch that was applied; for an append, it holds the whole new array of every key the
    append touched.
*/

/*!
    \fn void QStateSyncer::listeningChanged()

    This signal is emitted when the server starts or stops listening.
*/

/*!
    \fn void QStateSyncer::secureChanged()

    This signal is emitted when the server switches between ws and wss.
*/

/*!
    \fn void QStateSyncer::stateIdentifiersChanged()

    This signal is emitted when a state is created or removed.
*/

/*!
    \fn void QStateSyncer::clientCountChanged()

    This signal is emitted when a client connects or disconnects.
*/

/*!
    Constructs a server that is not listening yet, with the given \a parent.
*/
QStateSyncer::QStateSyncer(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<QStateSyncerPrivate>(this))
{
    // So the hooks work through queued connections and QSignalSpy.
    qRegisterMetaType<QStateSyncAuthorizationRequest *>();
    qRegisterMetaType<QStateSyncJoinRequest *>();
    qRegisterMetaType<QStateSyncUpdateRequest *>();
    qRegisterMetaType<QStateSyncHttpRequest *>();
}

/*!
    Closes every connection and destroys the server and its states.
*/
QStateSyncer::~QStateSyncer() = default;

/*!
    Starts listening on \a address and \a port; port 0 lets the system choose one, which
    serverPort() then returns. Returns \c false and sets errorString() on failure.
*/
bool QStateSyncer::listen(const QHostAddress &address, quint16 port)
{
    d->prepareIo();
    const bool ok = d->transport->listen(address, port);
    if (!ok) {
        qCWarning(lcStateSyncServer).noquote()
                << "cannot listen on" << address.toString() << port << ":" << errorString();
    }
    Q_EMIT listeningChanged();
    return ok;
}

/*!
    Stops listening and closes every client connection (with close code 1001, going
    away). The states stay.
*/
void QStateSyncer::close()
{
    const bool wasListening = isListening();
    d->transport->close();
    const QList<QStateSyncConnection *> open = d->connections;
    for (QStateSyncConnection *connection : open)
        connection->close(QWebSocketProtocol::CloseCodeGoingAway,
                          QStringLiteral("Server is closing"));
    if (wasListening)
        Q_EMIT listeningChanged();
}

bool QStateSyncer::isListening() const
{
    return d->transport->isListening();
}

/*!
    Returns the address the server listens on.
*/
QHostAddress QStateSyncer::serverAddress() const
{
    return d->transport->serverAddress();
}

QString QStateSyncer::serverAddressString() const
{
    return serverAddress().toString();
}

quint16 QStateSyncer::serverPort() const
{
    return d->transport->serverPort();
}

/*!
    Returns a description of the last error: why listen() or setCertificateFiles()
    failed.
*/
QString QStateSyncer::errorString() const
{
    return d->transport->errorString();
}

/*!
    Makes the server speak TLS (wss) with \a configuration, which must hold a local
    certificate and private key. Takes effect at the next listen().
*/
void QStateSyncer::setSslConfiguration(const QSslConfiguration &configuration)
{
    const bool wasSecure = isSecure();
    d->transport->setSslConfiguration(configuration);
    if (wasSecure != isSecure())
        Q_EMIT secureChanged();
}

/*!
    Returns the TLS configuration; a null configuration when the server speaks plain ws.
*/
QSslConfiguration QStateSyncer::sslConfiguration() const
{
    return d->transport->sslConfiguration();
}

/*!
    Makes the server speak TLS (wss) with the PEM certificate (chain) in
    \a certificateFile and the PEM private key (RSA or EC, unencrypted) in
    \a privateKeyFile, like the original's \c{new StateSyncer({cert, key})}. Takes effect
    at the next listen(). Returns \c false, and leaves the server as it was, when a file
    cannot be read or holds no certificate or key.
*/
bool QStateSyncer::setCertificateFiles(const QString &certificateFile,
                                       const QString &privateKeyFile)
{
    const QList<QSslCertificate> chain = QSslCertificate::fromPath(certificateFile, QSsl::Pem);
    if (chain.isEmpty()) {
        qCWarning(lcStateSyncServer).noquote() << "no PEM certificate in" << certificateFile;
        return false;
    }
    QFile keyFile(privateKeyFile);
    if (!keyFile.open(QIODevice::ReadOnly)) {
        qCWarning(lcStateSyncServer).noquote()
                << "cannot read" << privateKeyFile << ":" << keyFile.errorString();
        return false;
    }
    const QByteArray keyData = keyFile.readAll();
    QSslKey key(keyData, QSsl::Rsa, QSsl::Pem);
    if (key.isNull())
        key = QSslKey(keyData, QSsl::Ec, QSsl::Pem);
    if (key.isNull()) {
        qCWarning(lcStateSyncServer).noquote() << "no PEM private key in" << privateKeyFile;
        return false;
    }
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setLocalCertificateChain(chain);
    configuration.setPrivateKey(key);
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    setSslConfiguration(configuration);
    return true;
}

bool QStateSyncer::isSecure() const
{
    return d->transport->isSecure();
}

/*!
    Installs \a middleware as the authorization hook, for parity with the original's
    \c useAuthorizationMiddleware(): it receives each request and a callback to call, now
    or later, with the client information and whether the client may connect.

    \snippet snippets/server.cpp middleware

    The middleware is one more handler of authorizationRequested(); installing another
    replaces it, and an empty function removes it.
*/
void QStateSyncer::useAuthorizationMiddleware(const AuthorizationMiddleware &middleware)
{
    d->middleware = middleware;
    QObject::disconnect(d->middlewareConnection);
    if (!middleware)
        return;
    d->middlewareConnection = connect(
            this, &QStateSyncer::authorizationRequested, this,
            [this](QStateSyncAuthorizationRequest *request) {
                if (!d->middleware)
                    return;
                request->defer();
                const QPointer<QStateSyncAuthorizationRequest> guard(request);
                d->middleware(request, [guard](const QVariantMap &information, bool success) {
                    if (!guard)
                        return;
                    if (success)
                        guard->accept(information);
                    else
                        guard->reject();
                });
            });
}

/*!
    Creates a state described by \a options and returns its identifier: the one the
    options give, or a generated UUID. Returns a null string when a state with that
    identifier exists already.
*/
QString QStateSyncer::createState(const QStateSyncStateOptions &options)
{
    return d->createState(options);
}

/*!
    Removes the state \a stateIdentifier; its joined clients are told. Returns \c false
    when no such state exists.
*/
bool QStateSyncer::removeState(const QString &stateIdentifier)
{
    return d->removeState(stateIdentifier, QStateSync::RemovalReason::Removed);
}

/*!
    Removes every state; their joined clients are told.
*/
void QStateSyncer::removeAllStates()
{
    const QStringList identifiers = d->states.keys();
    for (const QString &identifier : identifiers)
        d->removeState(identifier, QStateSync::RemovalReason::Removed);
}

/*!
    Returns whether a state \a stateIdentifier exists.
*/
bool QStateSyncer::hasState(const QString &stateIdentifier) const
{
    return d->states.contains(stateIdentifier);
}

QStringList QStateSyncer::stateIdentifiers() const
{
    return d->states.keys();
}

/*!
    Returns the value of the state \a stateIdentifier, or \c std::nullopt when there is no
    such state: an existing state that is empty returns an empty object.
*/
std::optional<QJsonObject> QStateSyncer::valueOfState(const QString &stateIdentifier) const
{
    const auto state = d->states.value(stateIdentifier);
    if (!state)
        return std::nullopt;
    return state->publishedValue();
}

/*!
    Returns the version of the state \a stateIdentifier: 0 when created, one more after
    every applied change. Returns -1 when there is no such state.
*/
qint64 QStateSyncer::versionOfState(const QString &stateIdentifier) const
{
    const auto state = d->states.value(stateIdentifier);
    return state ? state->publishedVersion() : -1;
}

/*!
    Returns the identifiers of the clients joined to \a stateIdentifier, in the order
    they joined.
*/
QStringList QStateSyncer::clientsOfState(const QString &stateIdentifier) const
{
    QStringList result;
    if (const auto state = d->states.value(stateIdentifier)) {
        for (const QStateSyncConnection *client : std::as_const(state->clients))
            result.append(client->clientIdentifier());
    }
    return result;
}

/*!
    Returns the presence of the clients joined to \a stateIdentifier, in the order they
    joined: for each, \c id (unique per connection), \c clientIdentifier,
    \c information (the public information the hooks chose) and \c data (what the client
    set with QStateSyncClient::setPresenceData()). Empty when there is no such state.
*/
QJsonArray QStateSyncer::presenceOfState(const QString &stateIdentifier) const
{
    const auto state = d->states.value(stateIdentifier);
    return state ? state->presence() : QJsonArray();
}

/*!
    Returns the size of the state \a stateIdentifier in bytes of its compact JSON, as
    maxStateSize measures it, or -1 when there is no such state.
*/
qint64 QStateSyncer::sizeOfState(const QString &stateIdentifier) const
{
    const auto state = d->states.value(stateIdentifier);
    return state ? state->size() : -1;
}

int QStateSyncer::clientCount() const
{
    return int(d->connections.size());
}

/*!
    Applies \a updates to the state \a stateIdentifier from the server side, as if a
    client with \a clientInformation had sent them: through the state's interceptor and
    updateRequested(), merged, and sent to every joined client. Returns \c false when
    there is no such state. Otherwise the update is applied now, or after the changes
    queued before it; stateUpdated() tells when, and a refusal is logged.
*/
bool QStateSyncer::updateStateValue(const QString &stateIdentifier, const QJsonObject &updates,
                                    const QVariantMap &clientInformation)
{
    return d->submitServerChange(stateIdentifier, QStateSyncUpdateRequest::Update, updates,
                                 clientInformation);
}

/*!
    Appends items to arrays of the state \a stateIdentifier from the server side:
    \a appends maps each key to an array of items to add at its end. Goes through the
    state's interceptors and updateRequested() like a client's append, from a client with
    \a clientInformation. Returns \c false
    when there is no such state or a value of \a appends is not an array.
*/
bool QStateSyncer::appendToState(const QString &stateIdentifier, const QJsonObject &appends,
                                 const QVariantMap &clientInformation)
{
    return d->submitServerChange(stateIdentifier, QStateSyncUpdateRequest::Append, appends,
                                 clientInformation);
}
