// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qquickstatesyncstate_p.h"

#include <QStateSyncer>

#include <QtCore/qloggingcategory.h>
#include <QtQml/qjsengine.h>

Q_LOGGING_CATEGORY(lcQuickStateSync, "qstatesync.qml", QtInfoMsg)

/*!
    \qmltype StateSyncState
    \inqmlmodule QStateSync
    \brief A state declared in a StateSyncer.

    Each StateSyncState inside a \l StateSyncer becomes a state on the server when the
    server starts (or at once, when it is added to a running server). Its properties are
    the options of QStateSyncStateOptions; the original's callbacks are JavaScript
    functions.

    \snippet snippets/server.qml state

    A function that throws refuses what it was asked about, and the error is logged.

    The state lives as long as its StateSyncState: destroying one that was added at run
    time removes its state from the server (its clients are told).
*/

/*!
    \qmlproperty string StateSyncState::identifier
    The state's identifier; empty generates a UUID.
*/

/*!
    \qmlproperty object StateSyncState::initialValue
    The value the state starts with.
*/

/*!
    \qmlproperty int StateSyncState::ttl
    Milliseconds the state lives after its creation; 0 (the default) means forever.
*/

/*!
    \qmlproperty enumeration StateSyncState::mergeMode
    \c StateSync.Deep (JSON Merge Patch, the default) or \c StateSync.Shallow (the
    original's one-level merge).
*/

/*!
    \qmlproperty bool StateSyncState::selfDestructWhenEmpty
    Whether the state is removed when its last client leaves. Ignored when
    \l selfDestruct is set.
*/

/*!
    \qmlproperty function StateSyncState::allowConnectingClient
    \c{function(clientInformation)} returning whether the client may join.
*/

/*!
    \qmlproperty function StateSyncState::interceptStateUpdate
    \c{function(updates, clientInformation)} returning the updates to apply (modified or
    not), or \c null to refuse them.
*/

/*!
    \qmlproperty function StateSyncState::interceptStateAppend
    \c{function(appends, clientInformation)} returning the appends to apply, or \c null.
*/

/*!
    \qmlproperty function StateSyncState::selfDestruct
    \c{function(numberOfClientsLeft, timeOfCreation)} asked after every departure;
    \c true removes the state.
*/

/*!
    \qmlproperty bool StateSyncState::created
    \readonly
    Whether the state exists on the server now (it may have expired or self-destructed).
*/

/*!
    \qmlproperty object StateSyncState::value
    \readonly
    The state's current value on the server.
*/

/*!
    \qmlproperty int StateSyncState::version
    \readonly
    The state's version: 0 when created, one more per applied change.
*/

QQuickStateSyncState::QQuickStateSyncState(QObject *parent)
    : QObject(parent)
{ }

// A declared state lives as long as its declaration: destroying a StateSyncState removes
// its state from the server (whose hooks would otherwise have nobody to ask).
QQuickStateSyncState::~QQuickStateSyncState()
{
    if (m_created && m_syncer) {
        disconnect(m_syncer, nullptr, this, nullptr);
        m_syncer->removeState(m_identifier);
    }
}

QString QQuickStateSyncState::identifier() const
{
    return m_identifier;
}

void QQuickStateSyncState::setIdentifier(const QString &identifier)
{
    if (m_identifier == identifier)
        return;
    if (m_created)
        qCWarning(lcQuickStateSync) << "the identifier of a created state cannot change";
    m_identifier = identifier;
    Q_EMIT identifierChanged();
}

QVariantMap QQuickStateSyncState::initialValue() const
{
    return m_initialValue;
}

void QQuickStateSyncState::setInitialValue(const QVariantMap &value)
{
    if (m_initialValue == value)
        return;
    m_initialValue = value;
    Q_EMIT initialValueChanged();
}

int QQuickStateSyncState::ttl() const
{
    return m_ttl;
}

void QQuickStateSyncState::setTtl(int milliseconds)
{
    if (m_ttl == milliseconds)
        return;
    m_ttl = milliseconds;
    Q_EMIT ttlChanged();
}

QStateSync::MergeMode QQuickStateSyncState::mergeMode() const
{
    return m_mergeMode;
}

void QQuickStateSyncState::setMergeMode(QStateSync::MergeMode mode)
{
    if (m_mergeMode == mode)
        return;
    m_mergeMode = mode;
    Q_EMIT mergeModeChanged();
}

bool QQuickStateSyncState::selfDestructWhenEmpty() const
{
    return m_selfDestructWhenEmpty;
}

void QQuickStateSyncState::setSelfDestructWhenEmpty(bool selfDestruct)
{
    if (m_selfDestructWhenEmpty == selfDestruct)
        return;
    m_selfDestructWhenEmpty = selfDestruct;
    Q_EMIT selfDestructWhenEmptyChanged();
}

QJSValue QQuickStateSyncState::allowConnectingClient() const
{
    return m_allowConnectingClient;
}

void QQuickStateSyncState::setAllowConnectingClient(const QJSValue &function)
{
    m_allowConnectingClient = function;
    Q_EMIT allowConnectingClientChanged();
}

QJSValue QQuickStateSyncState::interceptStateUpdate() const
{
    return m_interceptStateUpdate;
}

void QQuickStateSyncState::setInterceptStateUpdate(const QJSValue &function)
{
    m_interceptStateUpdate = function;
    Q_EMIT interceptStateUpdateChanged();
}

QJSValue QQuickStateSyncState::interceptStateAppend() const
{
    return m_interceptStateAppend;
}

void QQuickStateSyncState::setInterceptStateAppend(const QJSValue &function)
{
    m_interceptStateAppend = function;
    Q_EMIT interceptStateAppendChanged();
}

QJSValue QQuickStateSyncState::selfDestruct() const
{
    return m_selfDestruct;
}

void QQuickStateSyncState::setSelfDestruct(const QJSValue &function)
{
    m_selfDestruct = function;
    Q_EMIT selfDestructChanged();
}

bool QQuickStateSyncState::isCreated() const
{
    return m_created;
}

QVariantMap QQuickStateSyncState::value() const
{
    if (!m_created || !m_syncer)
        return QVariantMap();
    return m_syncer->valueOfState(m_identifier).value_or(QJsonObject()).toVariantMap();
}

qint64 QQuickStateSyncState::version() const
{
    return m_created && m_syncer ? m_syncer->versionOfState(m_identifier) : -1;
}

void QQuickStateSyncState::setCreated(bool created)
{
    if (m_created == created)
        return;
    m_created = created;
    Q_EMIT createdChanged();
    Q_EMIT valueChanged();
}

QStateSyncStateOptions::Interceptor QQuickStateSyncState::interceptor(const QJSValue &function,
                                                                      const char *name) const
{
    if (!function.isCallable())
        return {};
    const QPointer<const QQuickStateSyncState> self(this);
    return [self, function,
            name](const QJsonObject &changes,
                  const QVariantMap &clientInformation) -> std::optional<QJsonObject> {
        QJSEngine *engine = self ? qjsEngine(self.data()) : nullptr;
        if (!engine)
            return std::nullopt;
        QJSValue callable = function;
        const QJSValue result = callable.call({engine->toScriptValue(changes.toVariantMap()),
                                               engine->toScriptValue(clientInformation)});
        if (result.isError()) {
            qCWarning(lcQuickStateSync).noquote()
                    << name << "of state" << self->m_identifier << "threw:" << result.toString();
            return std::nullopt;
        }
        if (result.isNull() || result.isUndefined() || !result.isObject())
            return std::nullopt;
        return QJsonObject::fromVariantMap(result.toVariant().toMap());
    };
}

bool QQuickStateSyncState::createOn(QStateSyncer *syncer)
{
    QStateSyncStateOptions options;
    options.setIdentifier(m_identifier);
    options.setInitialValue(m_initialValue);
    options.setTtl(std::chrono::milliseconds(m_ttl));
    options.setMergeMode(m_mergeMode);
    const QPointer<QQuickStateSyncState> self(this);
    if (m_allowConnectingClient.isCallable()) {
        const QJSValue function = m_allowConnectingClient;
        options.setAllowConnectingClient([self, function](const QVariantMap &clientInformation) {
            QJSEngine *engine = self ? qjsEngine(self.data()) : nullptr;
            if (!engine)
                return false;
            QJSValue callable = function;
            const QJSValue result = callable.call({engine->toScriptValue(clientInformation)});
            if (result.isError()) {
                qCWarning(lcQuickStateSync).noquote()
                        << "allowConnectingClient of state" << self->m_identifier
                        << "threw:" << result.toString();
                return false;
            }
            return result.toBool();
        });
    }
    options.setInterceptStateUpdate(interceptor(m_interceptStateUpdate, "interceptStateUpdate"));
    options.setInterceptStateAppend(interceptor(m_interceptStateAppend, "interceptStateAppend"));
    if (m_selfDestruct.isCallable()) {
        const QJSValue function = m_selfDestruct;
        options.setSelfDestruct([self, function](int clientsLeft, const QDateTime &createdAt) {
            QJSEngine *engine = self ? qjsEngine(self.data()) : nullptr;
            if (!engine)
                return false;
            QJSValue callable = function;
            const QJSValue result
                    = callable.call({QJSValue(clientsLeft), engine->toScriptValue(createdAt)});
            if (result.isError()) {
                qCWarning(lcQuickStateSync).noquote()
                        << "selfDestruct of state" << self->m_identifier
                        << "threw:" << result.toString();
                return false;
            }
            return result.toBool();
        });
    } else if (m_selfDestructWhenEmpty) {
        options.setSelfDestruct(
                [](int clientsLeft, const QDateTime &) { return clientsLeft == 0; });
    }

    const QString identifier = syncer->createState(options);
    if (identifier.isNull()) {
        qCWarning(lcQuickStateSync).noquote()
                << "state" << m_identifier << "was not created: the identifier is taken";
        return false;
    }
    if (m_identifier != identifier) {
        m_identifier = identifier;
        Q_EMIT identifierChanged();
    }
    if (m_syncer)
        disconnect(m_syncer, nullptr, this, nullptr);
    m_syncer = syncer;
    connect(syncer, &QStateSyncer::stateUpdated, this, [this](const QString &updated) {
        if (updated == m_identifier)
            Q_EMIT valueChanged();
    });
    connect(syncer, &QStateSyncer::stateRemoved, this, [this](const QString &removed) {
        if (removed == m_identifier)
            setCreated(false);
    });
    setCreated(true);
    return true;
}
