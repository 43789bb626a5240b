// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qquickstatesyncer_p.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncHttpRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>

#include <QtCore/qloggingcategory.h>
#include <QtCore/qmetaobject.h>

Q_DECLARE_LOGGING_CATEGORY(lcQuickStateSync)

/*!
    \qmltype StateSyncer
    \inqmlmodule QStateSync
    \brief A state server declared in QML: states as children, hooks as signal handlers.

    StateSyncer wraps a QStateSyncer. Its \l StateSyncState children become states when
    the declaration is complete; setting \l running starts listening. The hooks are
    signals whose handlers receive request objects to accept, modify, reject or answer
    later, exactly as in C++ (see QStateSyncRequest): a whole server fits in one QML file.

    \snippet snippets/server.qml server

    A handler that neither answers nor defers accepts the request.

    The server's other limits (QStateSyncer::heartbeatInterval, maxStateSize,
    maxClientsPerState, maxClients, updateRate, updateBurst, maxPendingHandshakes,
    maxPendingOutput) and revealStateExistence are properties of the wrapped server, set
    through \l syncer:

    \qml
    StateSyncer {
        syncer.maxClientsPerState: 50
        syncer.updateRate: 20
        syncer.maxStateSize: 1024 * 1024
    }
    \endqml

    With Qt 6.4, the 64-bit byte sizes (maxStateSize, maxPendingOutput) take an
    expression, as above, not a bare number.
*/

/*!
    \qmlproperty QStateSyncer StateSyncer::syncer
    \readonly
    The wrapped QStateSyncer: its properties, limits included, and its functions, such as
    \c valueOfState() and \c{clientsOfState()}.
*/

/*!
    \qmlproperty string StateSyncer::host
    The address to listen on; empty (the default) means every address.
*/

/*!
    \qmlproperty int StateSyncer::port
    The port to listen on; 0 (the default) lets the system choose, see \l serverPort.
*/

/*!
    \qmlproperty bool StateSyncer::running
    Whether the server should listen. Default: \c false.
*/

/*!
    \qmlproperty bool StateSyncer::listening
    \readonly
    Whether the server listens now.
*/

/*!
    \qmlproperty int StateSyncer::serverPort
    \readonly
    The port the server listens on.
*/

/*!
    \qmlproperty url StateSyncer::url
    \readonly
    The URL clients connect to, for example \c{ws://127.0.0.1:5000}.
*/

/*!
    \qmlproperty url StateSyncer::certificateFile
    A PEM certificate (chain): with \l keyFile, the server speaks wss.
*/

/*!
    \qmlproperty url StateSyncer::keyFile
    The PEM private key for \l certificateFile.
*/

/*!
    \qmlproperty int StateSyncer::maxMessageSize
    The largest message a client may send, in bytes. Default: 1 MiB.
*/

/*!
    \qmlproperty int StateSyncer::maxNestingDepth
    How deeply a message may nest. Default: 64.
*/

/*!
    \qmlproperty string StateSyncer::errorString
    \readonly
    Why the server could not start, or an empty string.
*/

/*!
    \qmlproperty int StateSyncer::clientCount
    \readonly
    The number of connected clients.
*/

/*!
    \qmlproperty list<string> StateSyncer::stateIdentifiers
    \readonly
    The identifiers of every state on the server.
*/

/*!
    \qmlproperty list<StateSyncState> StateSyncer::states
    \qmldefault
    The states declared in the server.
*/

/*!
    \qmlsignal StateSyncer::authorizationRequested(StateSyncAuthorizationRequest request)

    A client connects; accept, reject (HTTP 401) or defer \a request.
*/

/*!
    \qmlsignal StateSyncer::joinRequested(StateSyncJoinRequest request)

    A client asks to join a state; accept, reject or defer \a request, and set its
    \c publicInformation.
*/

/*!
    \qmlsignal StateSyncer::updateRequested(StateSyncUpdateRequest request)

    A change is about to be applied; change \c{request.updates} (or \c appends), accept,
    reject or defer \a request. Later changes of the state wait for deferred ones.
*/

/*!
    \qmlsignal StateSyncer::httpRequested(StateSyncHttpRequest request)

    A plain HTTP request reached the port; answer \a request with
    \c{request.respond(status, body)}.
*/

/*!
    \qmlsignal StateSyncer::stateCreated(string stateIdentifier)

    The state \a stateIdentifier was created.
*/

/*!
    \qmlsignal StateSyncer::stateRemoved(string stateIdentifier, enumeration reason)

    The state \a stateIdentifier was removed, for \a reason (\c StateSync.Removed, \c StateSync.Ttl,
    \c StateSync.SelfDestruct).
*/

/*!
    \qmlsignal StateSyncer::clientJoined(string stateIdentifier, string clientIdentifier, object clientInformation)

    The client \a clientIdentifier, with \a clientInformation, joined the state
    \a stateIdentifier.
*/

/*!
    \qmlsignal StateSyncer::clientLeft(string stateIdentifier, string clientIdentifier, object clientInformation)

    The client \a clientIdentifier, with \a clientInformation, left the state
    \a stateIdentifier.
*/

/*!
    \qmlsignal StateSyncer::stateUpdated(string stateIdentifier, object updates, int version)

    A change was applied to \a stateIdentifier and sent to its clients: \a updates is
    the merge patch (for an append, the whole new arrays), \a version the state's new
    version.
*/

QQuickStateSyncer::QQuickStateSyncer(QObject *parent)
    : QObject(parent)
{
    connect(&m_syncer, &QStateSyncer::stateCreated, this, &QQuickStateSyncer::stateCreated);
    connect(&m_syncer, &QStateSyncer::stateRemoved, this, &QQuickStateSyncer::stateRemoved);
    connect(&m_syncer, &QStateSyncer::clientJoined, this, &QQuickStateSyncer::clientJoined);
    connect(&m_syncer, &QStateSyncer::clientLeft, this, &QQuickStateSyncer::clientLeft);
    connect(&m_syncer, &QStateSyncer::stateUpdated, this,
            [this](const QString &identifier, const QJsonObject &updates, qint64 version) {
                Q_EMIT stateUpdated(identifier, updates.toVariantMap(), version);
            });
    connect(&m_syncer, &QStateSyncer::listeningChanged, this, &QQuickStateSyncer::listeningChanged);
    connect(&m_syncer, &QStateSyncer::clientCountChanged, this,
            &QQuickStateSyncer::clientCountChanged);
    connect(&m_syncer, &QStateSyncer::stateIdentifiersChanged, this,
            &QQuickStateSyncer::stateIdentifiersChanged);
    connect(&m_syncer, &QStateSyncer::maxMessageSizeChanged, this,
            &QQuickStateSyncer::maxMessageSizeChanged);
    connect(&m_syncer, &QStateSyncer::maxNestingDepthChanged, this,
            &QQuickStateSyncer::maxNestingDepthChanged);
}

QQuickStateSyncer::~QQuickStateSyncer() = default;

// The server creates request objects only while someone handles its hooks: forward a
// hook only once a QML handler (or any connection) exists for it.
void QQuickStateSyncer::connectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&QQuickStateSyncer::authorizationRequested)
        && !m_forwardsAuthorization) {
        m_forwardsAuthorization = true;
        connect(&m_syncer, &QStateSyncer::authorizationRequested, this,
                &QQuickStateSyncer::authorizationRequested);
    } else if (signal == QMetaMethod::fromSignal(&QQuickStateSyncer::joinRequested)
               && !m_forwardsJoin) {
        m_forwardsJoin = true;
        connect(&m_syncer, &QStateSyncer::joinRequested, this, &QQuickStateSyncer::joinRequested);
    } else if (signal == QMetaMethod::fromSignal(&QQuickStateSyncer::updateRequested)
               && !m_forwardsUpdate) {
        m_forwardsUpdate = true;
        connect(&m_syncer, &QStateSyncer::updateRequested, this,
                &QQuickStateSyncer::updateRequested);
    } else if (signal == QMetaMethod::fromSignal(&QQuickStateSyncer::httpRequested)
               && !m_forwardsHttp) {
        m_forwardsHttp = true;
        connect(&m_syncer, &QStateSyncer::httpRequested, this, &QQuickStateSyncer::httpRequested);
    }
}

QString QQuickStateSyncer::host() const
{
    return m_host;
}

void QQuickStateSyncer::setHost(const QString &host)
{
    if (m_host == host)
        return;
    m_host = host;
    Q_EMIT hostChanged();
    updateListening();
}

int QQuickStateSyncer::port() const
{
    return m_port;
}

void QQuickStateSyncer::setPort(int port)
{
    if (m_port == port)
        return;
    m_port = port;
    Q_EMIT portChanged();
    updateListening();
}

bool QQuickStateSyncer::isRunning() const
{
    return m_running;
}

void QQuickStateSyncer::setRunning(bool running)
{
    if (m_running == running)
        return;
    m_running = running;
    Q_EMIT runningChanged();
    updateListening();
}

bool QQuickStateSyncer::isListening() const
{
    return m_syncer.isListening();
}

int QQuickStateSyncer::serverPort() const
{
    return m_syncer.serverPort();
}

QUrl QQuickStateSyncer::url() const
{
    if (!m_syncer.isListening())
        return QUrl();
    QHostAddress address = m_syncer.serverAddress();
    if (address == QHostAddress::Any || address == QHostAddress::AnyIPv4)
        address = QHostAddress::LocalHost;
    else if (address == QHostAddress::AnyIPv6)
        address = QHostAddress::LocalHostIPv6;
    QUrl url;
    url.setScheme(m_syncer.isSecure() ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setHost(address.toString());
    url.setPort(m_syncer.serverPort());
    return url;
}

QUrl QQuickStateSyncer::certificateFile() const
{
    return m_certificateFile;
}

void QQuickStateSyncer::setCertificateFile(const QUrl &file)
{
    if (m_certificateFile == file)
        return;
    m_certificateFile = file;
    Q_EMIT certificateFileChanged();
}

QUrl QQuickStateSyncer::keyFile() const
{
    return m_keyFile;
}

void QQuickStateSyncer::setKeyFile(const QUrl &file)
{
    if (m_keyFile == file)
        return;
    m_keyFile = file;
    Q_EMIT keyFileChanged();
}

qint64 QQuickStateSyncer::maxMessageSize() const
{
    return m_syncer.maxMessageSize();
}

void QQuickStateSyncer::setMaxMessageSize(qint64 bytes)
{
    m_syncer.setMaxMessageSize(bytes);
}

int QQuickStateSyncer::maxNestingDepth() const
{
    return m_syncer.maxNestingDepth();
}

void QQuickStateSyncer::setMaxNestingDepth(int depth)
{
    m_syncer.setMaxNestingDepth(depth);
}

QString QQuickStateSyncer::errorString() const
{
    return m_errorString;
}

void QQuickStateSyncer::setErrorString(const QString &errorString)
{
    if (m_errorString == errorString)
        return;
    m_errorString = errorString;
    Q_EMIT errorStringChanged();
}

int QQuickStateSyncer::clientCount() const
{
    return m_syncer.clientCount();
}

QStringList QQuickStateSyncer::stateIdentifiers() const
{
    return m_syncer.stateIdentifiers();
}

QStateSyncer *QQuickStateSyncer::syncer() const
{
    return const_cast<QStateSyncer *>(&m_syncer);
}

QQmlListProperty<QQuickStateSyncState> QQuickStateSyncer::states()
{
    return QQmlListProperty<QQuickStateSyncState>(this, nullptr, &QQuickStateSyncer::appendState,
                                                  &QQuickStateSyncer::stateCount,
                                                  &QQuickStateSyncer::stateAt, nullptr);
}

void QQuickStateSyncer::appendState(QQmlListProperty<QQuickStateSyncState> *list,
                                    QQuickStateSyncState *state)
{
    auto *self = static_cast<QQuickStateSyncer *>(list->object);
    if (!state)
        return;
    self->m_states.append(state);
    // A state added at run time may be destroyed before the server: forget it then.
    connect(state, &QObject::destroyed, self, [self, state] { self->m_states.removeAll(state); });
    if (self->m_complete)
        state->createOn(&self->m_syncer);
}

qsizetype QQuickStateSyncer::stateCount(QQmlListProperty<QQuickStateSyncState> *list)
{
    return static_cast<QQuickStateSyncer *>(list->object)->m_states.size();
}

QQuickStateSyncState *QQuickStateSyncer::stateAt(QQmlListProperty<QQuickStateSyncState> *list,
                                                 qsizetype index)
{
    return static_cast<QQuickStateSyncer *>(list->object)->m_states.value(index);
}

void QQuickStateSyncer::classBegin() { }

/*!
    \qmlproperty StateSyncStorage StateSyncer::storage

    Where the server keeps its states beyond the process, for example a
    StateSyncSqliteStorage; \c null (the default) keeps them in memory. Set it in the
    declaration: the stored states come back before the declared ones are created, and a
    declared state that was stored keeps its stored value and version. Once the server has
    states, another storage is refused (errorString says so) and the property keeps the
    storage the server uses. See QStateSyncer::setStorage().

    \code
    StateSyncer {
        running: true
        storage: StateSyncSqliteStorage {
            fileName: "/var/lib/board/states.sqlite"
            durability: StateSyncSqliteStorage.Durable
        }
        StateSyncState { identifier: "board"; initialValue: ({ cards: [] }) }
    }
    \endcode
*/
QStateSyncStorage *QQuickStateSyncer::storage() const
{
    return m_storage;
}

void QQuickStateSyncer::setStorage(QStateSyncStorage *storage)
{
    if (m_storage == storage)
        return;
    const QStateSyncStorage *before = m_storage;
    m_storage = storage;
    if (m_complete)
        applyStorage();
    if (m_storage != before)
        Q_EMIT storageChanged();
}

void QQuickStateSyncer::applyStorage()
{
    if (m_syncer.setStorage(m_storage))
        return;
    setErrorString(
            m_storage && !m_storage->errorString().isEmpty()
                    ? QStringLiteral("Cannot use the storage: %1").arg(m_storage->errorString())
                    : QStringLiteral(
                            "Cannot use the storage: set it before the server has states"));
    // The property names the storage the server uses, not one it refused.
    m_storage = m_syncer.storage();
}

void QQuickStateSyncer::componentComplete()
{
    m_complete = true;
    if (m_storage) {
        applyStorage();
        if (!m_storage)
            Q_EMIT storageChanged();
    }
    for (QQuickStateSyncState *state : std::as_const(m_states))
        state->createOn(&m_syncer);
    updateListening();
}

namespace {
QString localPath(const QUrl &url)
{
    if (url.isLocalFile())
        return url.toLocalFile();
    if (url.scheme() == QLatin1String("qrc"))
        return QLatin1Char(':') + url.path();
    return url.toString();
}
} // namespace

void QQuickStateSyncer::updateListening()
{
    if (!m_complete)
        return;
    if (m_syncer.isListening())
        m_syncer.close();
    if (!m_running)
        return;
    if (!m_certificateFile.isEmpty() || !m_keyFile.isEmpty()) {
        if (!m_syncer.setCertificateFiles(localPath(m_certificateFile), localPath(m_keyFile))) {
            setErrorString(QStringLiteral("Cannot load the certificate %1 or the key %2")
                                   .arg(m_certificateFile.toString(), m_keyFile.toString()));
            qCWarning(lcQuickStateSync).noquote() << "StateSyncer:" << m_errorString;
            return;
        }
    }
    QHostAddress address(QHostAddress::Any);
    if (!m_host.isEmpty() && !address.setAddress(m_host)) {
        setErrorString(QStringLiteral("%1 is not an IP address").arg(m_host));
        qCWarning(lcQuickStateSync).noquote() << "StateSyncer:" << m_errorString;
        return;
    }
    if (!m_syncer.listen(address, quint16(m_port))) {
        setErrorString(m_syncer.errorString());
        return;
    }
    setErrorString(QString());
}

/*!
    \qmlmethod string StateSyncer::createState(object options)

    Creates a state at run time and returns its identifier, or an empty string when the
    identifier is taken. \a options may hold \c identifier, \c initialValue, \c ttl
    (milliseconds), \c mergeMode (\c StateSync.Deep or \c StateSync.Shallow) and
    \c selfDestructWhenEmpty.
*/
QString QQuickStateSyncer::createState(const QVariantMap &options)
{
    QStateSyncStateOptions stateOptions;
    stateOptions.setIdentifier(options.value(QStringLiteral("identifier")).toString());
    stateOptions.setInitialValue(options.value(QStringLiteral("initialValue")).toMap());
    stateOptions.setTtl(
            std::chrono::milliseconds(options.value(QStringLiteral("ttl")).toLongLong()));
    const QVariant mode = options.value(QStringLiteral("mergeMode"));
    if (mode.toInt() == int(QStateSync::MergeMode::Shallow)
        || mode.toString() == QLatin1String("shallow")) {
        stateOptions.setMergeMode(QStateSync::MergeMode::Shallow);
    }
    if (options.value(QStringLiteral("selfDestructWhenEmpty")).toBool()) {
        stateOptions.setSelfDestruct(
                [](int clientsLeft, const QDateTime &) { return clientsLeft == 0; });
    }
    return m_syncer.createState(stateOptions);
}

/*!
    \qmlmethod bool StateSyncer::removeState(string stateIdentifier)

    Removes the state \a stateIdentifier; its clients are told. Returns \c false when
    there was none.
*/
bool QQuickStateSyncer::removeState(const QString &stateIdentifier)
{
    return m_syncer.removeState(stateIdentifier);
}

/*!
    \qmlmethod StateSyncer::removeAllStates()

    Removes every state.
*/
void QQuickStateSyncer::removeAllStates()
{
    m_syncer.removeAllStates();
}

/*!
    \qmlmethod bool StateSyncer::hasState(string stateIdentifier)

    Returns whether the state \a stateIdentifier exists.
*/
bool QQuickStateSyncer::hasState(const QString &stateIdentifier) const
{
    return m_syncer.hasState(stateIdentifier);
}

/*!
    \qmlmethod object StateSyncer::valueOfState(string stateIdentifier)

    Returns the value of the state \a stateIdentifier, or \c undefined when there is no
    such state.
*/
QVariant QQuickStateSyncer::valueOfState(const QString &stateIdentifier) const
{
    const auto value = m_syncer.valueOfState(stateIdentifier);
    return value ? QVariant(value->toVariantMap()) : QVariant();
}

/*!
    \qmlmethod int StateSyncer::versionOfState(string stateIdentifier)

    Returns the version of the state \a stateIdentifier, or -1.
*/
qint64 QQuickStateSyncer::versionOfState(const QString &stateIdentifier) const
{
    return m_syncer.versionOfState(stateIdentifier);
}

/*!
    \qmlmethod list<string> StateSyncer::clientsOfState(string stateIdentifier)

    Returns the identifiers of the clients joined to the state \a stateIdentifier.
*/
QStringList QQuickStateSyncer::clientsOfState(const QString &stateIdentifier) const
{
    return m_syncer.clientsOfState(stateIdentifier);
}

/*!
    \qmlmethod list<object> StateSyncer::presenceOfState(string stateIdentifier)

    Returns the presence of the clients joined to the state \a stateIdentifier.
*/
QVariantList QQuickStateSyncer::presenceOfState(const QString &stateIdentifier) const
{
    return m_syncer.presenceOfState(stateIdentifier).toVariantList();
}

/*!
    \qmlmethod bool StateSyncer::updateStateValue(string stateIdentifier, object updates, object clientInformation)

    Applies \a updates to the state \a stateIdentifier from the server side, through the
    state's hooks, as if a client with \a clientInformation sent them. Returns \c false
    when there is no such state.
*/
bool QQuickStateSyncer::updateStateValue(const QString &stateIdentifier, const QVariantMap &updates,
                                         const QVariantMap &clientInformation)
{
    return m_syncer.updateStateValue(stateIdentifier, QJsonObject::fromVariantMap(updates),
                                     clientInformation);
}

/*!
    \qmlmethod bool StateSyncer::appendToState(string stateIdentifier, object appends, object clientInformation)

    Appends items to the state \a stateIdentifier from the server side, as if a client
    with \a clientInformation sent them: \a appends maps keys to arrays of items.
    Returns \c false when there is no such state or a value is not an array.
*/
bool QQuickStateSyncer::appendToState(const QString &stateIdentifier, const QVariantMap &appends,
                                      const QVariantMap &clientInformation)
{
    return m_syncer.appendToState(stateIdentifier, QJsonObject::fromVariantMap(appends),
                                  clientInformation);
}
