// Bundled modelguard signatures: reverse shells and download-and-execute command lines.
// These are the payloads found in malicious model files (pickle arguments, Keras Lambda
// code, templates). Each pattern needs the shell-specific syntax, not a bare word, so that
// documentation and benign configs do not match.

rule MG_Reverse_Shell_Dev_Tcp
{
    meta:
        severity = "critical"
        message = "reverse shell command line (interactive shell redirected to /dev/tcp or /dev/udp)"
        version = "2026.11.1"
    strings:
        $a = /\b(ba|z|k)?sh\s+-i\s*[0-9]*[<>&]+\s*\/dev\/(tcp|udp)\/[^\s\/]{1,255}\/[0-9]{1,5}/
        $b = /exec\s+[0-9]+<>\s*\/dev\/(tcp|udp)\/[^\s\/]{1,255}\/[0-9]{1,5}/
    condition:
        any of them
}

rule MG_Reverse_Shell_Netcat
{
    meta:
        severity = "critical"
        message = "reverse shell command line (netcat executing a shell)"
        version = "2026.11.1"
    strings:
        $nc_e = /\bn(c|cat)(\.traditional|\.openbsd)?\s[^|;\n\r]{0,100}-[a-zA-Z]*[ec]\s*\/bin\/(ba|z|da)?sh\b/
        $fifo = /mkfifo\s+\S{1,255}\s*;?.{0,120}\|\s*\/bin\/(ba|z|da)?sh\s+-i.{0,80}\|\s*n(c|cat)\s/
    condition:
        any of them
}

rule MG_Reverse_Shell_Python
{
    meta:
        severity = "critical"
        message = "Python reverse shell (socket connected, file descriptors duplicated onto a shell)"
        version = "2026.11.1"
    strings:
        $imp = /import\s+socket\s*,\s*subprocess\s*,\s*os/
        $imp2 = /import\s+socket\s*,\s*os\s*,\s*pty/
        $sock = "socket.socket("
        $dup = /\bdup2\s*\(/
        $pty = /pty\.spawn\s*\(\s*['"]\/bin\/(ba|z)?sh['"]/
        $sh = /['"]\/bin\/(ba|z)?sh['"]/
        $sub = /subprocess\.(call|Popen|run)\s*\(/
    condition:
        $imp or $imp2 or ($sock and $dup and ($pty or $sh or $sub))
}

rule MG_Download_And_Execute
{
    meta:
        severity = "critical"
        message = "download-and-execute command line (fetched script piped into a shell)"
        version = "2026.11.1"
    strings:
        $curl = /\bcurl\s[^|;\n\r]{1,300}\|\s*(sudo\s+)?(\/bin\/|\/usr\/bin\/)?(ba|z|da)?sh\b/
        $wget = /\bwget\s[^|;\n\r]{0,300}-[a-zA-Z]*O\s*-[^|;\n\r]{0,200}\|\s*(sudo\s+)?(\/bin\/|\/usr\/bin\/)?(ba|z|da)?sh\b/
        $pwsh_enc = /powershell(\.exe)?\s[^\r\n]{0,120}\s-(e|ec|en|enc|enco|encod|encode|encoded|encodedcommand)\s+[A-Za-z0-9+\/=]{16,}/ nocase
        $pwsh_iex = /\bIEX\s*\(\s*New-Object\s+(System\.)?Net\.WebClient\s*\)\s*\.\s*Download(String|File)/ nocase
        $certutil = /certutil(\.exe)?\s+[^\r\n]{0,40}-urlcache\s[^\r\n]{0,40}-f\s+https?:\/\// nocase
    condition:
        any of them
}
