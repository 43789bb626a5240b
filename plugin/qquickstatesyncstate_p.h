// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QQUICKSTATESYNCSTATE_P_H
#define QQUICKSTATESYNCSTATE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QStateSyncNamespace>
#include <QStateSyncStateOptions>

#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtQml/qjsvalue.h>
#include <QtQml/qqml.h>

class QStateSyncer;

// A state declared inside a StateSyncer in QML.
class QQuickStateSyncState : public QObject
{
    Q_OBJECT
    QML_NAMED_ELEMENT(StateSyncState)
    Q_PROPERTY(QString identifier READ identifier WRITE setIdentifier NOTIFY identifierChanged)
    Q_PROPERTY(QVariantMap initialValue READ initialValue WRITE setInitialValue NOTIFY
                       initialValueChanged)
    Q_PROPERTY(int ttl READ ttl WRITE setTtl NOTIFY ttlChanged)
    Q_PROPERTY(QStateSync::MergeMode mergeMode READ mergeMode WRITE setMergeMode NOTIFY
                       mergeModeChanged)
    Q_PROPERTY(bool selfDestructWhenEmpty READ selfDestructWhenEmpty WRITE setSelfDestructWhenEmpty
                       NOTIFY selfDestructWhenEmptyChanged)
    Q_PROPERTY(QJSValue allowConnectingClient READ allowConnectingClient WRITE
                       setAllowConnectingClient NOTIFY allowConnectingClientChanged)
    Q_PROPERTY(QJSValue interceptStateUpdate READ interceptStateUpdate WRITE setInterceptStateUpdate
                       NOTIFY interceptStateUpdateChanged)
    Q_PROPERTY(QJSValue interceptStateAppend READ interceptStateAppend WRITE setInterceptStateAppend
                       NOTIFY interceptStateAppendChanged)
    Q_PROPERTY(QJSValue selfDestruct READ selfDestruct WRITE setSelfDestruct NOTIFY
                       selfDestructChanged)
    Q_PROPERTY(bool created READ isCreated NOTIFY createdChanged)
    Q_PROPERTY(QVariantMap value READ value NOTIFY valueChanged)
    Q_PROPERTY(qint64 version READ version NOTIFY valueChanged)

public:
    explicit QQuickStateSyncState(QObject *parent = nullptr);
    ~QQuickStateSyncState() override;

    QString identifier() const;
    void setIdentifier(const QString &identifier);
    QVariantMap initialValue() const;
    void setInitialValue(const QVariantMap &value);
    int ttl() const;
    void setTtl(int milliseconds);
    QStateSync::MergeMode mergeMode() const;
    void setMergeMode(QStateSync::MergeMode mode);
    bool selfDestructWhenEmpty() const;
    void setSelfDestructWhenEmpty(bool selfDestruct);
    QJSValue allowConnectingClient() const;
    void setAllowConnectingClient(const QJSValue &function);
    QJSValue interceptStateUpdate() const;
    void setInterceptStateUpdate(const QJSValue &function);
    QJSValue interceptStateAppend() const;
    void setInterceptStateAppend(const QJSValue &function);
    QJSValue selfDestruct() const;
    void setSelfDestruct(const QJSValue &function);

    bool isCreated() const;
    QVariantMap value() const;
    qint64 version() const;

    // Creates the state on syncer; the declared properties are read now.
    bool createOn(QStateSyncer *syncer);

Q_SIGNALS:
    void identifierChanged();
    void initialValueChanged();
    void ttlChanged();
    void mergeModeChanged();
    void selfDestructWhenEmptyChanged();
    void allowConnectingClientChanged();
    void interceptStateUpdateChanged();
    void interceptStateAppendChanged();
    void selfDestructChanged();
    void createdChanged();
    void valueChanged();

private:
    QStateSyncStateOptions::Interceptor interceptor(const QJSValue &function,
                                                    const char *name) const;
    void setCreated(bool created);

    QString m_identifier;
    QVariantMap m_initialValue;
    int m_ttl = 0;
    QStateSync::MergeMode m_mergeMode = QStateSync::MergeMode::Deep;
    bool m_selfDestructWhenEmpty = false;
    QJSValue m_allowConnectingClient;
    QJSValue m_interceptStateUpdate;
    QJSValue m_interceptStateAppend;
    QJSValue m_selfDestruct;
    QPointer<QStateSyncer> m_syncer;
    bool m_created = false;
};

#endif // QQUICKSTATESYNCSTATE_P_H
