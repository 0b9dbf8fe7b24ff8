; Inno Setup script for the Windows installer. Build on Windows:
;   1. py -3.11 -m venv build\venv && build\venv\Scripts\pip install . "pyinstaller>=6.10"
;   2. build\venv\Scripts\pyinstaller --noconfirm --distpath build\installer\dist installer\carehome-share.spec
;   3. "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" installer\carehome-share.iss
; Result: build\installer\carehome-share-setup-<version>.exe
;
; The app keeps its database in %LOCALAPPDATA%\carehome-share, never in the program folder, so
; upgrading or uninstalling leaves the care home's records alone.

#define AppName "carehome-share"
#define AppVersion "0.1.0"
#define Bundle "..\build\installer\dist\carehome-share"

[Setup]
AppId={{6F1E2C8A-3B7D-4E55-9C1A-2D4B8E6F0A13}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=carehome-share developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\build\installer
OutputBaseFilename=carehome-share-setup-{#AppVersion}
SetupIconFile=..\resources\carehome-share.ico
UninstallDisplayIcon={app}\carehome-share.exe
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\carehome-share.exe"
Name: "{group}\{#AppName} (demo)"; Filename: "{app}\carehome-share.exe"; Parameters: "--demo"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\carehome-share.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\carehome-share.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
