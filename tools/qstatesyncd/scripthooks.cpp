// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "scripthooks.h"
#include "daemonlogging.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qfile.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qtimer.h>
#include <QtQml/qqmlcomponent.h>
#include <QtQml/qqmlengine.h>

namespace {
constexpr const char *HookNames[]
        = {"authorize",     "allowConnectingClient", "interceptStateUpdate", "interceptStateAppend",
           "joinRequested", "updateRequested"};

// Calls a function and reports what it returned or threw, whatever was thrown.
constexpr char InvokeSource[] = R"((function (fn, self, args) {
    try {
        return { value: fn.apply(self, args) };
    } catch (e) {
        var where = (e && e.lineNumber) ? e.lineNumber + ": " : "";
        return { threw: true, message: where + String(e) };
    }
}))";

// The server deletes a request once it is answered or cancelled (its client left), and
// a script that answers later would then call a deleted object and throw. The script
// gets this stand-in instead: once the request is gone, it reads as cancelled and
// answering it does nothing.
constexpr char GuardRequestSource[] = R"((function (request) {
    function gone() { return typeof request.status !== "number"; }
    var answers = ["accept", "reject", "defer"];
    return new Proxy(request, {
        get: function (target, name) {
            if (gone()) {
                if (answers.indexOf(name) >= 0)
                    return function () {};
                return name === "answered" ? true : name === "status" ? 4 : undefined;
            }
            var value = target[name];
            if (typeof value !== "function")
                return value;
            return function () { return value.apply(target, arguments); };
        },
        set: function (target, name, value) {
            if (!gone())
                target[name] = value;
            return true;
        }
    });
}))";

// The original's middleware answers through callback(clientInformation, success).
constexpr char MakeCallbackSource[] = R"((function (request, claims) {
    return function (clientInformation, success) {
        if (success)
            request.accept(clientInformation === null || clientInformation === undefined
                           ? (claims || {}) : clientInformation);
        else
            request.reject();
    };
}))";

constexpr char TimerFunctionsSource[] = R"((function (hooks) {
    return {
        setTimeout: function (callback, delay) { return hooks.setTimeout(callback, delay || 0); },
        clearTimeout: function (id) { hooks.clearTimeout(id || 0); }
    };
}))";

// What a hook may return as changes or client information: a plain object, not an
// array, a function or a wrapped C++ object.
bool isPlainObject(const QJSValue &value)
{
    return value.isObject() && !value.isArray() && !value.isCallable() && !value.isQObject()
            && !value.isDate() && !value.isRegExp() && !value.isError() && !value.isVariant();
}

bool isRefusal(const QJSValue &value)
{
    return value.isNull() || value.isUndefined() || (value.isBool() && !value.toBool());
}

QString describeType(const QJSValue &value)
{
    if (value.isArray())
        return QStringLiteral("an array");
    if (value.isString())
        return QStringLiteral("a string");
    if (value.isNumber())
        return QStringLiteral("a number");
    if (value.isBool())
        return QStringLiteral("true");
    if (value.isCallable())
        return QStringLiteral("a function");
    return QStringLiteral("an object that is not plain");
}
} // namespace

ScriptHooks::ScriptHooks(const QString &fileName)
    : m_fileName(fileName)
    , m_engine(std::make_unique<QQmlEngine>())
{ }

ScriptHooks::~ScriptHooks()
{
    // Everything holding script values goes before the engine that owns them.
    qDeleteAll(m_timers);
    m_timers.clear();
    m_timerCallbacks.clear();
    m_functions = {};
    m_self = m_invoke = m_makeCallback = m_guardRequest = QJSValue();
    m_root.reset();
    m_engine.reset();
}

std::unique_ptr<ScriptHooks> ScriptHooks::load(const QString &fileName, QStateSyncer *syncer,
                                               QString *error)
{
    std::unique_ptr<ScriptHooks> hooks(new ScriptHooks(QFileInfo(fileName).absoluteFilePath()));
    if (!hooks->loadScript(syncer, error))
        return nullptr;
    return hooks;
}

bool ScriptHooks::loadScript(QStateSyncer *syncer, QString *error)
{
    const QString suffix = QFileInfo(m_fileName).suffix().toLower();
    if (suffix != QLatin1String("js") && suffix != QLatin1String("qml")) {
        *error = QStringLiteral("the hooks file %1 must end in .js or .qml").arg(m_fileName);
        return false;
    }
    QFile file(m_fileName);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read the hooks file %1: %2")
                         .arg(m_fileName, file.errorString());
        return false;
    }

    QJSValue global = m_engine->globalObject();
    QQmlEngine::setObjectOwnership(syncer, QQmlEngine::CppOwnership);
    global.setProperty(QStringLiteral("syncer"), wrap(syncer));
    const QJSValue timers
            = m_engine->evaluate(QString::fromLatin1(TimerFunctionsSource)).call({wrap(this)});
    global.setProperty(QStringLiteral("setTimeout"), timers.property(QStringLiteral("setTimeout")));
    global.setProperty(QStringLiteral("clearTimeout"),
                       timers.property(QStringLiteral("clearTimeout")));
    m_invoke = m_engine->evaluate(QString::fromLatin1(InvokeSource));
    m_makeCallback = m_engine->evaluate(QString::fromLatin1(MakeCallbackSource));
    m_guardRequest = m_engine->evaluate(QString::fromLatin1(GuardRequestSource));

    if (suffix == QLatin1String("qml")) {
        QQmlComponent component(m_engine.get(), QUrl::fromLocalFile(m_fileName));
        m_root.reset(component.isReady() ? component.create() : nullptr);
        if (!m_root) {
            QStringList messages;
            const QList<QQmlError> errors = component.errors();
            for (const QQmlError &qmlError : errors)
                messages.append(qmlError.toString());
            *error = QStringLiteral("cannot load the hooks file: ")
                    + messages.join(QStringLiteral("; "));
            // Debian splits QtQml's own QML types into packages of their own.
            if (error->contains(QLatin1String("is not installed"))) {
                *error += QStringLiteral(" (.qml hooks need the QtQml QML module: on Debian, "
                                         "the packages qml6-module-qtqml and "
                                         "qml6-module-qtqml-models)");
            }
            return false;
        }
        m_self = wrap(m_root.get());
    } else {
        const QJSValue result = m_engine->evaluate(QString::fromUtf8(file.readAll()), m_fileName);
        if (result.isError()) {
            *error = QStringLiteral("cannot load the hooks file %1:%2: %3")
                             .arg(m_fileName)
                             .arg(result.property(QStringLiteral("lineNumber")).toInt())
                             .arg(result.toString());
            return false;
        }
        m_self = global;
    }

    for (int hook = Authorize; hook <= UpdateRequested; ++hook) {
        const QJSValue function = m_self.property(QLatin1String(HookNames[hook]));
        if (function.isUndefined() || function.isNull())
            continue;
        if (!function.isCallable()) {
            *error = QStringLiteral("%1: %2 must be a function")
                             .arg(m_fileName, QLatin1String(HookNames[hook]));
            return false;
        }
        m_functions[hook] = function;
    }
    if (hookNames().isEmpty()) {
        QStringList all;
        for (const char *name : HookNames)
            all.append(QLatin1String(name));
        qCWarning(lcHooks).noquote()
                << m_fileName
                << "defines none of the hook functions:" << all.join(QStringLiteral(", "));
    }
    return true;
}

bool ScriptHooks::has(Hook hook) const
{
    return m_functions[hook].isCallable();
}

QStringList ScriptHooks::hookNames() const
{
    QStringList names;
    for (int hook = Authorize; hook <= UpdateRequested; ++hook) {
        if (has(Hook(hook)))
            names.append(QLatin1String(HookNames[hook]));
    }
    return names;
}

QJSValue ScriptHooks::wrap(QObject *object)
{
    // The server owns its request objects and deletes them once answered; the script's
    // garbage collector must never delete them as well.
    QQmlEngine::setObjectOwnership(object, QQmlEngine::CppOwnership);
    return m_engine->newQObject(object);
}

QJSValue ScriptHooks::wrapRequest(QStateSyncRequest *request)
{
    return m_guardRequest.call({wrap(request)});
}

int ScriptHooks::parameterCount(Hook hook) const
{
    // A QML object's functions are methods of its meta-object; their script wrappers do
    // not tell their length.
    if (m_root) {
        const QMetaObject *metaObject = m_root->metaObject();
        for (int i = metaObject->methodOffset(); i < metaObject->methodCount(); ++i) {
            const QMetaMethod method = metaObject->method(i);
            if (method.name() == HookNames[hook])
                return method.parameterCount();
        }
        return 0;
    }
    return m_functions[hook].property(QStringLiteral("length")).toInt();
}

void ScriptHooks::reportError(const QString &context, const QString &message)
{
    ++m_errorCount;
    qCWarning(lcHooks).noquote().nospace()
            << QFileInfo(m_fileName).fileName() << ": " << context << ": " << message;
}

QJSValue ScriptHooks::call(Hook hook, const QJSValueList &arguments, bool *ok)
{
    QJSValue list = m_engine->newArray(uint(arguments.size()));
    for (qsizetype i = 0; i < arguments.size(); ++i)
        list.setProperty(quint32(i), arguments.at(i));
    const QJSValue outcome = m_invoke.call({m_functions[hook], m_self, list});
    if (outcome.property(QStringLiteral("threw")).toBool()) {
        *ok = false;
        reportError(QLatin1String(HookNames[hook]),
                    outcome.property(QStringLiteral("message")).toString());
        return QJSValue();
    }
    *ok = true;
    return outcome.property(QStringLiteral("value"));
}

void ScriptHooks::authorize(QStateSyncAuthorizationRequest *request,
                            const std::optional<QVariantMap> &claims)
{
    const QJSValue requestValue = wrapRequest(request);
    const QJSValue claimsValue
            = claims ? m_engine->toScriptValue(*claims) : QJSValue(QJSValue::NullValue);
    QJSValueList arguments{requestValue, claimsValue};
    // A hook that declares the third parameter is the original's middleware: the request
    // waits for its callback.
    if (parameterCount(Authorize) >= 3) {
        request->defer();
        arguments.append(m_makeCallback.call({requestValue, claimsValue}));
    }
    bool ok = false;
    const QJSValue result = call(Authorize, arguments, &ok);
    if (!ok) {
        request->reject(QStringLiteral("Refused by the server's authorization hook"));
        return;
    }
    if (request->status() != QStateSyncRequest::Pending)
        return;
    if (result.isBool() && !result.toBool())
        request->reject();
    else if (isPlainObject(result))
        request->accept(m_engine->fromScriptValue<QVariantMap>(result));
    else
        request->accept(claims.value_or(QVariantMap()));
}

bool ScriptHooks::allowConnectingClient(const QVariantMap &clientInformation,
                                        const QString &stateIdentifier)
{
    bool ok = false;
    const QJSValue result
            = call(AllowConnectingClient,
                   {m_engine->toScriptValue(clientInformation), QJSValue(stateIdentifier)}, &ok);
    return ok && result.toBool();
}

std::optional<QJsonObject> ScriptHooks::intercept(Hook hook, const QJsonObject &changes,
                                                  const QVariantMap &clientInformation,
                                                  const QString &stateIdentifier)
{
    bool ok = false;
    const QJSValue result
            = call(hook,
                   {m_engine->toScriptValue(changes), m_engine->toScriptValue(clientInformation),
                    QJSValue(stateIdentifier)},
                   &ok);
    if (!ok || isRefusal(result))
        return std::nullopt;
    if (!isPlainObject(result)) {
        reportError(QLatin1String(HookNames[hook]),
                    QStringLiteral("returned %1; return the changes as an object, or null to "
                                   "refuse them")
                            .arg(describeType(result)));
        return std::nullopt;
    }
    return m_engine->fromScriptValue<QJsonObject>(result);
}

void ScriptHooks::handleJoinRequest(QStateSyncJoinRequest *request)
{
    handleRequest(JoinRequested, request);
}

void ScriptHooks::handleUpdateRequest(QStateSyncUpdateRequest *request)
{
    handleRequest(UpdateRequested, request);
}

void ScriptHooks::handleRequest(Hook hook, QStateSyncRequest *request)
{
    bool ok = false;
    const QJSValue result = call(hook, {wrapRequest(request)}, &ok);
    if (!ok) {
        request->reject(refusalMessage(hook, QStringLiteral("Refused by the server's hook")));
        return;
    }
    if (result.isBool() && !result.toBool())
        request->reject();
    limitWaiting(hook, request);
}

QString ScriptHooks::refusalMessage(Hook hook, const QString &message) const
{
    return hook == JoinRequested && !m_explainJoinRefusals ? QString() : message;
}

void ScriptHooks::limitWaiting(Hook hook, QStateSyncRequest *request)
{
    if (request->status() != QStateSyncRequest::Deferred)
        return;
    // A child of the request: it goes when the request is answered and deleted.
    auto *timer = new QTimer(request);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, request, [this, hook, request] {
        if (request->isAnswered())
            return;
        reportError(QLatin1String(HookNames[hook]),
                    QStringLiteral("deferred a request and did not answer within %1 ms; "
                                   "refused")
                            .arg(m_answerTimeout.count()));
        request->reject(
                refusalMessage(hook, QStringLiteral("The server's hook did not answer in time")));
    });
    timer->start(m_answerTimeout);
}

int ScriptHooks::setTimeout(const QJSValue &callback, int milliseconds)
{
    if (!callback.isCallable())
        return 0;
    const int id = m_nextTimerId++;
    auto *timer = new QTimer(this);
    timer->setSingleShot(true);
    m_timers.insert(id, timer);
    m_timerCallbacks.insert(id, callback);
    connect(timer, &QTimer::timeout, this, [this, id] {
        const QJSValue function = m_timerCallbacks.take(id);
        if (QTimer *done = m_timers.take(id))
            done->deleteLater();
        const QJSValue outcome = m_invoke.call({function, QJSValue(), m_engine->newArray()});
        if (outcome.property(QStringLiteral("threw")).toBool()) {
            reportError(QStringLiteral("setTimeout callback"),
                        outcome.property(QStringLiteral("message")).toString());
        }
    });
    timer->start(std::max(milliseconds, 0));
    return id;
}

void ScriptHooks::clearTimeout(int id)
{
    m_timerCallbacks.remove(id);
    if (QTimer *timer = m_timers.take(id))
        timer->deleteLater();
}
