using System;
using System.Threading;

namespace AaLogon
{
    /// <summary>Facts about the loaded native library, and its process-wide log hook.</summary>
    public static class AaLibrary
    {
        // The one delegate ever given to aa_set_log_callback: static, so it is never collected
        // while the library may call it from any thread.
        private static readonly NativeMethods.aa_log_callback LogTrampoline = OnLog;
        private static readonly object LogLock = new object();
        private static Action<LogLevel, string> _logHandler;
        private static long _logHandlerFailures;

        /// <summary>The native library's version ("MAJOR.MINOR.PATCH").</summary>
        /// <exception cref="DllNotFoundException">
        /// The native library (libaa_logon.so / aa_logon.dll / libaa_logon.dylib) cannot be loaded;
        /// the message lists every place the runtime looked. Any first call into the library
        /// reports a missing library this way.
        /// </exception>
        public static string Version
        {
            get
            {
                LibraryLoader.EnsureLoaded();
                return Utf8.Copy(NativeMethods.aa_version());
            }
        }

        /// <summary>
        /// The version of include/aa_logon.h this binding was generated from ("MAJOR.MINOR.PATCH");
        /// compare with <see cref="Version"/>, the loaded library's.
        /// </summary>
        public static string HeaderVersion
        {
            get
            {
                return NativeMethods.AA_LOGON_VERSION_MAJOR + "." + NativeMethods.AA_LOGON_VERSION_MINOR + "." +
                       NativeMethods.AA_LOGON_VERSION_PATCH;
            }
        }

        /// <summary>
        /// The number of native handles and library strings allocated and not yet freed,
        /// process-wide. For leak checks: it returns to its earlier value once every object made
        /// in between is disposed.
        /// </summary>
        public static ulong LiveObjects
        {
            get
            {
                LibraryLoader.EnsureLoaded();
                UIntPtr count;
                Interop.Check(NativeMethods.aa_live_objects(out count), IntPtr.Zero);
                return count.ToUInt64();
            }
        }

        /// <summary>The number of exceptions thrown by the log handler (they are swallowed, never passed to the library).</summary>
        public static long LogHandlerFailures
        {
            get { return Interlocked.Read(ref _logHandlerFailures); }
        }

        /// <summary>The library's description of a status code (e.g. "success").</summary>
        public static string DescribeStatus(AaStatus status)
        {
            return Interop.StatusText(status);
        }

        /// <summary>
        /// Sends the library's log messages up to <paramref name="maxLevel"/> to
        /// <paramref name="handler"/>, replacing any earlier handler; null turns logging off.
        /// The handler may be called from any thread, concurrently; it must be thread-safe and
        /// return promptly. Exceptions it throws are swallowed and counted in
        /// <see cref="LogHandlerFailures"/>. Secrets never reach a log message.
        /// </summary>
        /// <exception cref="ConfigurationException">The process already has another Rust logger installed.</exception>
        public static void SetLogHandler(Action<LogLevel, string> handler, LogLevel maxLevel = LogLevel.Info)
        {
            if ((uint)maxLevel > (uint)LogLevel.Trace)
            {
                throw new ArgumentOutOfRangeException(nameof(maxLevel), maxLevel, "Not a log level.");
            }
            LibraryLoader.EnsureLoaded();
            lock (LogLock)
            {
                bool off = handler == null || maxLevel == LogLevel.Off;
                Action<LogLevel, string> previous = _logHandler;
                if (!off)
                {
                    // Installed before the library can call it, so no message finds the old one.
                    Volatile.Write(ref _logHandler, handler);
                }
                AaStatus status = off
                    ? NativeMethods.aa_set_log_callback(null, IntPtr.Zero, (uint)LogLevel.Off)
                    : NativeMethods.aa_set_log_callback(LogTrampoline, IntPtr.Zero, (uint)maxLevel);
                if (status != AaStatus.Ok)
                {
                    Volatile.Write(ref _logHandler, previous);
                    throw Interop.ToException(status, IntPtr.Zero);
                }
                if (off)
                {
                    Volatile.Write(ref _logHandler, null);
                }
            }
        }

        private static void OnLog(IntPtr userdata, LogLevel level, IntPtr message)
        {
            // Called from native code on any thread: nothing may propagate out of here.
            try
            {
                Action<LogLevel, string> handler = Volatile.Read(ref _logHandler);
                if (handler != null)
                {
                    handler(level, Utf8.Copy(message));
                }
            }
            catch
            {
                Interlocked.Increment(ref _logHandlerFailures);
            }
        }
    }
}
