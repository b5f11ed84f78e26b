"""Words that carry no topic, shared by compound splitting and the domain evidence."""

# Words that say nothing about a topic: function words, pronouns, auxiliaries, everyday
# verbs and adverbs of Dutch and English, the company's own name, in the forms
# which they are written (DomainEvidence adds their stems).
_STOPWORDS = """
    de het een en of maar dus want als dan dat die dit deze er hier daar waar wat wie
    welk welke hoe waarom wanneer ik je jij u uw mijn mij me we wij ons onze jullie zij ze
    hij hem haar hun zijn is ben bent was waren wezen zijn heb hebt heeft hebben had hadden
    kan kun kunt kunnen kon konden wil wilt willen wou zou zouden zal zult zullen moet
    moeten mag mogen mocht doe doet doen deed gaan ga gaat ging komen kom komt kwam worden
    word wordt werd laten laat krijgen krijg krijgt kreeg staan staat stond zien zie ziet
    maken maak maakt niet geen wel nog al ook toch even eens gewoon graag heel erg zo te
    van voor met naar op in aan bij uit om over door tot na tegen zonder onder per sinds
    vanaf tussen ja nee hoi hallo hey goedemorgen goedemiddag goedenavond dag dank bedankt
    alvast groet groeten vriendelijk beste geachte heer mevrouw iets iemand niets niemand
    alles iedereen ergens nergens mee waarmee veel weinig meer minder nu net weer altijd
    nooit soms vaak keer
    dingen ding manier mogelijk beetje paar ander andere anders eigen zelf elk elke
    weten vragen vinden gebruik gebruiken nodig eerst steeds tijd liever alleen lukken
    gebeuren betekenen zitten liggen horen lijken via goedendag maand week jaar vandaag
    gisteren morgen niks nou aub svp alsjeblieft alstublieft pc patrol pcpatrol
    the a an and or but so if then that this these those there here where what who which
    how why when i you your my me we our us they them he she his her it its is am are was
    were be been being have has had do does did can could will would should shall may
    might must not no yes to of for with from on in at by about as into get got please
    pls plz
    thanks thank hi hello hey just also still any some need know like liken want use
    something anything nothing somewhere anywhere nowhere
    don doesn didn isn aren wasn weren won wouldn couldn shouldn haven hasn cannot
"""
STOPWORDS = frozenset(_STOPWORDS.split())
