import Foundation
import Kernels

/// The project's own Spanish corpus, written by this code from word lists and sentence
/// templates (no text is copied from anywhere): product descriptions in the spirit of the
/// notebook's catalogue, and everyday prose (short stories, jokes, notes) to pre-train a tiny
/// model on. Deterministic for a seed, so the shipped files can be regenerated exactly.
public struct CorpusGenerator {
    var random: SeededGenerator

    public init(seed: UInt64 = 2024) { random = SeededGenerator(seed: seed) }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    mutating func chance(_ p: Double) -> Bool { random.unit() < p }

    // Products.
    static let products: [(String, String, Bool)] = [  // name, kind of use, feminine
        ("silla", "el comedor", true), ("mesa", "la cocina", true), ("lámpara", "la mesita de noche", true),
        ("mochila", "las excursiones", true), ("cafetera", "las mañanas", true), ("sartén", "cocinar a diario", true),
        ("chaqueta", "los días de lluvia", true), ("alfombra", "el salón", true), ("taza", "el desayuno", true),
        ("bicicleta", "la ciudad", true), ("almohada", "descansar mejor", true), ("estantería", "el despacho", true),
        ("reloj", "el día a día", false), ("cojín", "el sofá", false), ("jarrón", "la entrada", false),
        ("cuaderno", "tomar apuntes", false), ("abrigo", "el invierno", false), ("altavoz", "las fiestas", false),
        ("termo", "los viajes", false), ("cepillo", "el cuidado diario", false), ("banco", "el jardín", false),
        ("espejo", "el baño", false), ("bolso", "salir por la noche", false), ("paraguas", "las tormentas", false),
    ]
    static let materials = ["madera de roble", "madera de pino", "acero inoxidable", "aluminio reciclado", "algodón orgánico",
                            "lino", "bambú", "cerámica esmaltada", "vidrio soplado", "cuero vegetal", "lana merina", "mimbre"]
    static let colours: [(String, String)] = [("rojo", "roja"), ("azul", "azul"), ("verde", "verde"), ("negro", "negra"),
                                              ("blanco", "blanca"), ("gris", "gris"), ("amarillo", "amarilla"), ("morado", "morada"),
                                              ("beis", "beis"), ("turquesa", "turquesa"), ("granate", "granate"), ("naranja", "naranja")]
    static let brands = ["Alborada", "Casa Nube", "Torrelago", "Viento Sur", "Marisma", "El Olivar", "Brisa", "Cumbre Alta",
                         "Mirasol", "La Vereda", "Puerto Claro", "Solana"]
    static let qualities: [(String, String)] = [("ligero", "ligera"), ("resistente", "resistente"), ("elegante", "elegante"),
                                                ("práctico", "práctica"), ("cómodo", "cómoda"), ("duradero", "duradera"),
                                                ("compacto", "compacta"), ("suave", "suave"), ("robusto", "robusta")]

    mutating func productDescription(name: String, use: String, feminine: Bool, material: String, quality: String) -> String {
        let article = feminine ? "Esta" : "Este"
        let one = feminine ? "una" : "un"
        let made = feminine ? "fabricada" : "fabricado"
        let designed = feminine ? "pensada" : "pensado"
        var sentences: [String] = []
        let openings = [
            "\(article) \(name) \(quality) está \(made) en \(material) y \(designed) para \(use).",
            "Descubre \(one) \(name) \(quality), \(made) en \(material), ideal para \(use).",
            "Si buscas \(one) \(name) para \(use), esta opción en \(material) te sorprenderá.",
            "Hecho a mano en un pequeño taller, \(name == "reloj" ? "este reloj" : "el modelo") combina \(material) con un diseño \(pick(["sencillo", "moderno", "clásico", "atrevido"])).",
        ]
        sentences.append(pick(openings))
        let details = [
            "Sus acabados cuidados resisten el uso diario sin perder el color.",
            "Se limpia fácilmente con un paño húmedo y un poco de jabón neutro.",
            "Pesa \(Int(random.next() % 40) + 2)00 gramos, así que se transporta sin esfuerzo.",
            "Mide \(Int(random.next() % 80) + 20) centímetros de alto y \(Int(random.next() % 50) + 10) de ancho.",
            "Incluye una garantía de \(Int(random.next() % 4) + 1) años y envío gratuito.",
            "Cada pieza es única: las vetas y los matices cambian de una unidad a otra.",
            "Llega montado y listo para usar en cuanto abres la caja.",
            "Es un regalo perfecto para cumpleaños, bodas o una mudanza.",
            "Su diseño aprovecha cada centímetro sin renunciar a la comodidad.",
            "Los materiales proceden de proveedores locales y de bosques gestionados.",
            "Combina con estilos nórdicos, rústicos o industriales.",
            "Aguanta bien el calor, la humedad y algún que otro golpe.",
        ]
        let surfaces = ["Sus acabados", "La superficie", "Cada detalle", "El interior", "Las costuras", "Los bordes redondeados"]
        let verbs = ["resisten", "soportan", "aguantan", "toleran"]
        let stresses = ["el uso diario", "la humedad del baño", "los cambios de temperatura", "los golpes de una casa con niños",
                        "el sol de la terraza", "los lavados frecuentes", "los viajes largos"]
        let results = ["sin perder el color", "como el primer día", "sin deformarse", "durante años", "sin una sola marca"]
        for _ in 0..<(1 + Int(random.next() % 3)) {
            let sentence = chance(0.5) ? pick(details) : "\(pick(surfaces)) en \(material) \(pick(verbs)) \(pick(stresses)) \(pick(results))."
            if !sentences.contains(sentence) { sentences.append(sentence) }
        }
        if chance(0.4) { sentences.append(pick(["¡Pídelo hoy y recíbelo en 48 horas!", "Disponible en varios tamaños.", "Unidades limitadas.", "Opiniones de clientes: 4,\(Int(random.next() % 10)) de 5 estrellas."])) }
        return sentences.joined(separator: " ")
    }

    /// JSON lines with product_title, product_description (missing or empty in some rows, on
    /// purpose), brand and colour.
    public mutating func products(count: Int) -> [String] {
        var lines: [String] = []
        for _ in 0..<count {
            let (name, use, feminine) = pick(Self.products)
            let material = pick(Self.materials)
            let colour = pick(Self.colours)
            let quality = pick(Self.qualities)
            let brand = pick(Self.brands)
            let q = feminine ? quality.1 : quality.0
            let c = feminine ? colour.1 : colour.0
            let title = "\(name.prefix(1).uppercased() + name.dropFirst()) \(q) de \(material) \(c) - \(brand)"
            var object: [String: String] = ["product_title": title, "product_brand": brand, "product_color": c]
            let roll = random.unit()
            if roll < 0.05 {
                // no description at all
            } else if roll < 0.08 {
                object["product_description"] = "  "
            } else {
                object["product_description"] = productDescription(name: name, use: use, feminine: feminine, material: material, quality: q)
            }
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        return lines
    }

    // Everyday prose.
    static let people = ["la abuela Rosario", "un pescador llamado Iñaki", "una maestra de Cuenca", "el panadero del barrio",
                         "dos hermanas gemelas", "un niño muy curioso", "una gata callejera", "el alcalde del pueblo",
                         "una astronauta jubilada", "un cartero despistado", "la vecina del tercero", "un perro pastor"]
    static let places = ["en un pueblo de la sierra", "junto al mar", "en una ciudad llena de tranvías", "en una casa con un patio de naranjos",
                         "al pie de una montaña nevada", "en un mercado muy antiguo", "cerca de un río tranquilo", "en una isla pequeña"]
    static let wants = ["encontrar un tesoro escondido", "aprender a tocar la guitarra", "cruzar el río sin mojarse", "hornear el pan más grande del mundo",
                        "ver la nieve por primera vez", "ganar la carrera de las fiestas", "recuperar una carta perdida", "hablar con las estrellas"]
    static let problems = ["pero una tormenta lo complicó todo", "pero nadie creía que fuera posible", "pero el camino estaba lleno de charcos",
                           "pero había perdido el mapa", "pero el reloj de la plaza se había parado", "pero tenía mucho miedo a la oscuridad"]
    static let endings = ["Al final, descubrió que el verdadero tesoro eran sus amigos.", "Desde aquel día, todo el pueblo celebra esa fecha.",
                          "Y aunque nadie lo crea, todavía se cuenta esa historia en invierno.", "Aprendió que la paciencia también es una forma de valentía.",
                          "Volvió a casa cansado, pero con una sonrisa enorme.", "Esa noche durmió mejor que nunca."]

    public mutating func story() -> String {
        let who = pick(Self.people), place = pick(Self.places), want = pick(Self.wants), problem = pick(Self.problems)
        var sentences = ["Había una vez \(who) que vivía \(place).", "Soñaba con \(want), \(problem)."]
        let middles = ["Una mañana se levantó temprano y preparó un café bien cargado.", "Pidió ayuda a sus vecinos, que no dudaron en acompañarle.",
                       "Durante días practicó sin descanso, aunque a veces se equivocaba.", "Por el camino encontró a un viejo amigo que le dio un buen consejo.",
                       "El viento soplaba fuerte y las nubes corrían sobre los tejados.", "Con un cuaderno y un lápiz, apuntó cada detalle del plan.",
                       "Nadie en el mercado había visto nunca algo parecido.", "Cuando parecía imposible, se acordó de las palabras de su madre."]
        for _ in 0..<(2 + Int(random.next() % 3)) {
            let s = chance(0.3) ? pick(middles) : composedMiddle()
            if !sentences.contains(s) { sentences.append(s) }
        }
        sentences.append(pick(Self.endings))
        return sentences.joined(separator: " ")
    }

    static let times = ["Una mañana de enero", "Aquella tarde de verano", "Un domingo lluvioso", "Al caer la noche", "Poco antes del amanecer",
                        "El día de la feria", "Una semana después", "En plena primavera", "Justo a mediodía", "Durante las fiestas de agosto"]
    static let actions = ["salió a buscar", "se sentó a dibujar", "fue corriendo a ver", "decidió preguntar por", "escribió una carta sobre",
                          "se puso a construir", "subió al tejado para mirar", "bajó al sótano a buscar", "compró en el mercado", "soñó otra vez con"]
    static let objects = ["una llave oxidada", "el barco de su abuelo", "un mapa dibujado a mano", "las luces del puerto", "un violín sin cuerdas",
                          "la campana de la iglesia", "un huerto de tomates", "una cometa de colores", "el faro abandonado", "un libro sin título"]
    static let moods = ["con el corazón acelerado", "sin contárselo a nadie", "muerto de la risa", "con mucha calma", "casi sin aliento",
                        "silbando una canción", "con los ojos muy abiertos", "a pesar del frío"]

    mutating func composedMiddle() -> String {
        "\(pick(Self.times)), \(pick(Self.actions)) \(pick(Self.objects)) \(pick(Self.moods))."
    }

    public mutating func joke() -> String {
        let a = pick(["un tomate", "un caracol", "una impresora", "un pingüino", "una cebolla", "un semáforo"])
        let b = pick(["una lechuga", "un reloj", "un ordenador", "una foca", "un ajo", "un coche"])
        return pick([
            "¿Qué le dijo \(a) a \(b)? Nada, porque \(a) no habla, pero se entendieron con la mirada.",
            "Van \(a) y \(b) por la calle y \(a) dice: «¿Vamos más despacio?». Y \(b) contesta: «Si voy más despacio, me paro».",
            "Me encontré a \(a) en el ascensor y, como siempre, subimos juntos hasta el quinto sin decir palabra.",
        ])
    }

    public mutating func note() -> String {
        let day = pick(["El lunes", "El martes", "El miércoles", "El jueves", "El viernes", "El sábado", "El domingo"])
        let what = pick(["fui al mercado a comprar fruta", "llovió toda la tarde", "terminé por fin el libro que empecé en verano",
                         "comimos en casa de mis tíos", "arreglé la bicicleta con mi hermano", "paseamos por el parque hasta que anocheció"])
        let after = pick(["Luego vimos una película antigua.", "Por la noche hizo un poco de frío.", "Mañana quiero madrugar.",
                          "Me acordé de llamar a mi abuela.", "La cena fue sencilla y muy rica."])
        return "\(day) \(what). \(after)"
    }

    /// Blank-line-separated documents: stories, jokes and notes.
    public mutating func general(documents: Int) -> [String] {
        (0..<documents).map { _ in
            let roll = random.unit()
            return roll < 0.6 ? story() : roll < 0.8 ? joke() : note()
        }
    }

    /// Share of distinct sentences in a set of documents (the variety measure).
    public static func distinctSentenceShare(_ documents: [String]) -> Double {
        var all: [String] = []
        for document in documents {
            var current = ""
            for character in document {
                current.append(character)
                if ".!?»".contains(character) {
                    let sentence = current.trimmingCharacters(in: .whitespaces)
                    if !sentence.isEmpty { all.append(sentence) }
                    current = ""
                }
            }
        }
        return all.isEmpty ? 0 : Double(Set(all).count) / Double(all.count)
    }
}
