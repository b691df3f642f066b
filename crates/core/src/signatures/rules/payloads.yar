// Bundled modelguard signatures: Python payload strings seen in malicious model files
// (public reports on poisoned Hugging Face models: JFrog 2024, ReversingLabs "nullifAI" 2025,
// Protect AI / NVIDIA pickle rules). Each needs a call shape, not a module name alone.

rule MG_Python_Import_Exec
{
    meta:
        severity = "high"
        message = "Python code importing a process-running module and calling it in one expression"
        version = "2026.11.1"
    strings:
        $a = /__import__\(\s*['"](os|posix|nt|subprocess|pty|commands)['"]\s*\)\s*\.\s*(system|popen|Popen|call|check_call|check_output|run|spawn[a-z]*|exec[a-z]*|getoutput)\s*\(/
    condition:
        $a
}

rule MG_Python_Decode_Exec
{
    meta:
        severity = "high"
        message = "Python code executing a decoded payload (exec/eval of base64, zlib, marshal…)"
        version = "2026.11.1"
    strings:
        $a = /\b(exec|eval)\s*\(\s*(base64\.(b64|b32|b16|a85|b85)decode|zlib\.decompress|marshal\.loads|codecs\.decode|bytes\.fromhex|__import__\(\s*['"](base64|zlib|marshal|codecs|binascii)['"]\s*\)\s*\.)/
        $b = /\b(exec|eval)\s*\(\s*compile\s*\(\s*(base64|zlib|marshal)\./
    condition:
        any of them
}

// Info only: the shape of an encoded payload. modelguard's pickle analysis decodes such
// payloads and judges the code itself (an inert `exec` of literals is safe), so this rule
// must not decide the verdict; it records the shape for signature-based triage.
rule MG_Pickle_Dirty_Exec
{
    meta:
        severity = "info"
        message = "pickle importing exec/eval together with a decoder (base64/zlib/marshal): an encoded payload run on load"
        version = "2026.11.1"
    strings:
        // GLOBAL opcode ('c' module '\n' name '\n') and SHORT_BINUNICODE names (0x8c len name)
        $g_exec = /c(__builtin__|builtins)\n(exec|eval|compile)\n/
        $s_mod1 = "\x8c\x08builtins"
        $s_mod2 = "\x8c\x0b__builtin__"
        $s_exec1 = "\x8c\x04exec"
        $s_exec2 = "\x8c\x04eval"
        $dec1 = /(base64|zlib|marshal|codecs|binascii)\n(b64decode|b32decode|decompress|loads|decode|a2b_base64|unhexlify)\n/
        $dec2 = "\x8c\x06base64"
        $dec3 = "\x8c\x04zlib"
        $dec4 = "\x8c\x07marshal"
        $dec5 = "\x8c\x06codecs"
        $dec6 = "\x8c\x08binascii"
    condition:
        // A pickle: protocol 2+ header at the start, or a protocol 0/1 GLOBAL of exec/eval.
        ((uint8(0) == 0x80 and uint8(1) >= 2 and uint8(1) <= 5) or $g_exec)
        and ($g_exec or (any of ($s_mod*) and any of ($s_exec*)))
        and any of ($dec*)
}
